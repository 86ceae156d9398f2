DROP TRIGGER registrations_waitlisted_delete ON registrations;
DROP TRIGGER registrations_waitlisted_update ON registrations;
DROP TRIGGER registrations_waitlisted_insert ON registrations;
DROP FUNCTION registrations_count_waitlisted();
DROP TABLE waitlist_counts;
