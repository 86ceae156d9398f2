-- People, accounts, login sessions and single-use tokens, the email outbox, idempotency keys
-- and the audit trail: what every other part of Convene stands on.

CREATE TABLE people (
    id uuid PRIMARY KEY,
    -- Stored lower-cased (EmailAddress normalises at the edge): unique case-insensitively.
    email text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    honorific text CHECK (length(honorific) <= 40),
    position text CHECK (length(position) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id uuid PRIMARY KEY,
    person_id uuid NOT NULL UNIQUE REFERENCES people (id) ON DELETE RESTRICT,
    password_hash text NOT NULL,
    role text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'organizer', 'member')),
    email_verified_at timestamptz,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Login sessions, email verification and password reset tokens: 256 random bits of which only
-- the SHA-256 is stored, each bound to one account and one purpose.
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('session', 'email_verification', 'password_reset')),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_tokens_account ON account_tokens (account_id, purpose);

-- Failed logins, counted per account and per client address to throttle guessing.
CREATE TABLE login_failures (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid REFERENCES accounts (id) ON DELETE CASCADE,
    client_ip text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_account ON login_failures (account_id, failed_at);
CREATE INDEX login_failures_ip ON login_failures (client_ip, failed_at);

-- The outbox: every email is written here in the transaction of its cause and delivered by a
-- worker. Content is rendered at enqueue time, so a later template change never alters a
-- message already promised.
CREATE TABLE emails (
    id uuid PRIMARY KEY,
    -- One cause, one email: e.g. 'registration-confirmed:<registration id>'.
    dedupe_key text UNIQUE,
    kind text NOT NULL,
    event_id uuid,
    to_address text NOT NULL,
    to_name text,
    subject text NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    -- An iCalendar attachment (invite.ics) when the message concerns sessions.
    ics text,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts integer NOT NULL DEFAULT 0,
    -- When the message is due: now for most, later for reminders and retries.
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_at timestamptz,
    last_error text,
    sent_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'queued';
CREATE INDEX emails_sending ON emails (locked_at) WHERE status = 'sending';
CREATE INDEX emails_event ON emails (event_id, created_at);

-- Idempotency-Key: the same key and body give the same answer and one effect.
CREATE TABLE idempotency_keys (
    scope text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    response_status smallint,
    response_body jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE TABLE audit_entries (
    id uuid PRIMARY KEY,
    actor_account_id uuid REFERENCES accounts (id) ON DELETE SET NULL,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id uuid NOT NULL,
    before jsonb,
    after jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_entries_target ON audit_entries (target_type, target_id, created_at);
