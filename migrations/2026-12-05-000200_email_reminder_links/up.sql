-- The invitation or registration whose reminder a row is: the owner finds its reminders by this
-- column, not by reading an id out of the dedupe key. A reminder outlives a deleted cause as a
-- plain message (its withdrawal or sending is the outbox's business), hence SET NULL.
ALTER TABLE emails
    ADD COLUMN invitation_id uuid REFERENCES invitations (id) ON DELETE SET NULL,
    ADD COLUMN registration_id uuid REFERENCES registrations (id) ON DELETE SET NULL;

-- Backfill from the keys the reminders were queued under:
-- `invitation-reminder:{invitation id}:{generation}` and `session-reminder:{registration id}`.
UPDATE emails e SET invitation_id = i.id
FROM invitations i
WHERE e.kind = 'invitation_reminder'
  AND e.dedupe_key LIKE 'invitation-reminder:%'
  AND i.id::text = split_part(e.dedupe_key, ':', 2);

UPDATE emails e SET registration_id = r.id
FROM registrations r
WHERE e.kind = 'session_reminder'
  AND e.dedupe_key LIKE 'session-reminder:%'
  AND r.id::text = split_part(e.dedupe_key, ':', 2);

CREATE INDEX emails_invitation_id_idx ON emails (invitation_id) WHERE invitation_id IS NOT NULL;
CREATE INDEX emails_registration_id_idx ON emails (registration_id)
    WHERE registration_id IS NOT NULL;
