-- Failed logins are keyed on the submitted address (normalised), not on an account, so that an
-- address with an account and one without are throttled exactly alike. The rows only matter
-- for the throttle's window (minutes): the old ones are dropped rather than converted.
DELETE FROM login_failures;
DROP INDEX login_failures_account;
ALTER TABLE login_failures DROP COLUMN account_id;
ALTER TABLE login_failures ADD COLUMN email text NOT NULL;
CREATE INDEX login_failures_email ON login_failures (email, failed_at);

-- One row per anonymous request that would make Convene send an email (registration, signup,
-- verification resend, password reset, organisation application), whether or not it did:
-- the per-client limit counts requests, the per-recipient limit the emails let through.
-- Counted in PostgreSQL so that every instance shares the limits; rows older than an hour
-- count for nothing and are pruned.
CREATE TABLE mail_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient text,
    client text NOT NULL,
    admitted boolean NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_requests_recipient ON mail_requests (recipient, requested_at) WHERE admitted;
CREATE INDEX mail_requests_client ON mail_requests (client, requested_at);

-- Admins' digest of waiting applications: at most one an hour per admin, found by its address.
CREATE INDEX emails_application_digests ON emails (to_address, next_attempt_at)
    WHERE kind = 'organization_applications';
