ALTER TABLE emails DROP COLUMN registration_id, DROP COLUMN invitation_id;
