DROP INDEX emails_application_digests;
DROP TABLE mail_requests;
DELETE FROM login_failures;
DROP INDEX login_failures_email;
ALTER TABLE login_failures DROP COLUMN email;
ALTER TABLE login_failures ADD COLUMN account_id uuid REFERENCES accounts (id) ON DELETE CASCADE;
CREATE INDEX login_failures_account ON login_failures (account_id, failed_at);
