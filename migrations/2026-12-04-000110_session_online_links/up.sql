-- Online links belong to sessions (rule 2): a seat in one session never reveals another's link.
-- A session's own link; NULL means none, except that a public session then uses its event's
-- `online_url` (the default link of the event's public sessions).
ALTER TABLE sessions ADD COLUMN online_url text;

-- Before, the event's one link was shown to everyone holding any seat of the event. Closed
-- sessions keep that link as their own, so their attendees keep the link the organisers set and
-- nothing is lost; public sessions keep reading it as the event's default. (In-person events
-- never showed their link in emails: a link left on one is not revived here.)
UPDATE sessions AS s
SET online_url = e.online_url
FROM events AS e
WHERE s.event_id = e.id
  AND s.access = 'closed'
  AND e.online_url IS NOT NULL
  AND e.format <> 'in_person';
