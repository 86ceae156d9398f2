-- How many registrations wait on each session's waitlist, kept by the triggers below. A new
-- waitlist place is the last one, so its position is this count. Counting the places ahead
-- instead visited every row of the queue (no page of a rush's rows is all-visible), which made
-- each confirmation of a 10,000-person rush slower than the last.
--
-- A table of its own rather than a column of `sessions`: every seat-taker waits for the
-- session row's lock, and a waiter woken on a row that was updated, not just locked, follows
-- its chain of versions; with 64 waiters that cost pgbench's rush transaction a third of its
-- rate. Only the lock holder updates this row.
CREATE TABLE waitlist_counts (
    session_id uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    waitlisted integer NOT NULL CHECK (waitlisted >= 0)
);

-- No registration changes between the count and the triggers' creation.
LOCK TABLE registrations IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO waitlist_counts (session_id, waitlisted)
SELECT session_id, count(*) FROM registrations WHERE status = 'waitlisted' GROUP BY session_id;

-- Every change of a registration's status holds its session's row lock (see
-- src/registrations/seats.rs), so one transaction at a time changes a session's count. A
-- session with no row has nobody waiting. The exception would be a cascaded delete of a
-- person or an event, which takes no session lock: nothing deletes those today, and whatever
-- comes to must first lock the sessions concerned, in a fixed order, or it can deadlock with a
-- transaction placing someone on two waitlists (an invitation accepted for two sessions). A
-- session deleted with its registrations waits on nobody: its deletion holds its lock.
CREATE FUNCTION registrations_count_waitlisted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'waitlisted' THEN
        UPDATE waitlist_counts SET waitlisted = waitlisted - 1
        WHERE session_id = OLD.session_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'waitlisted' THEN
        INSERT INTO waitlist_counts (session_id, waitlisted) VALUES (NEW.session_id, 1)
        ON CONFLICT (session_id) DO UPDATE SET waitlisted = waitlist_counts.waitlisted + 1;
    END IF;
    RETURN NULL;
END;
$$;

-- Only rows that join or leave a waitlist run the function.
CREATE TRIGGER registrations_waitlisted_insert
    AFTER INSERT ON registrations
    FOR EACH ROW WHEN (NEW.status = 'waitlisted')
    EXECUTE FUNCTION registrations_count_waitlisted();

CREATE TRIGGER registrations_waitlisted_update
    AFTER UPDATE OF status, session_id ON registrations
    FOR EACH ROW WHEN (
        (OLD.status = 'waitlisted' OR NEW.status = 'waitlisted')
        AND (OLD.status, OLD.session_id) IS DISTINCT FROM (NEW.status, NEW.session_id)
    )
    EXECUTE FUNCTION registrations_count_waitlisted();

CREATE TRIGGER registrations_waitlisted_delete
    AFTER DELETE ON registrations
    FOR EACH ROW WHEN (OLD.status = 'waitlisted')
    EXECUTE FUNCTION registrations_count_waitlisted();
