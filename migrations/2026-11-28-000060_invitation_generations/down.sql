DROP INDEX invitations_pending_expiry;

ALTER TABLE invitations
    DROP COLUMN organization_id,
    DROP COLUMN sent_at,
    DROP COLUMN generation;
