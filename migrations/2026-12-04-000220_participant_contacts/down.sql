ALTER TABLE registrations DROP COLUMN organization_kind;
ALTER TABLE emails DROP COLUMN reply_to;
ALTER TABLE events DROP COLUMN contact_name, DROP COLUMN contact_email;
