-- The partnership (organisations and affiliations), its dialogues (series, events, sessions,
-- speakers, outcomes) and who takes part (registrations, invitations).

CREATE TABLE organizations (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    short_name text CHECK (length(short_name) <= 50),
    kind text NOT NULL CHECK (kind IN ('government', 'regional_organization',
        'international_organization', 'civil_society', 'academia', 'think_tank', 'other')),
    country text CHECK (country ~ '^[A-Z]{2}$'),
    website text,
    status text NOT NULL DEFAULT 'applicant' CHECK (status IN ('applicant', 'active', 'suspended', 'withdrawn')),
    joined_on date,
    -- Who applied, to be told when the application is approved.
    contact_name text,
    contact_email text,
    application_note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Names are unique among live (not withdrawn) organisations, whatever their case.
CREATE UNIQUE INDEX organizations_live_name ON organizations (lower(name)) WHERE status <> 'withdrawn';
CREATE INDEX organizations_status ON organizations (status, lower(name));

CREATE TABLE affiliations (
    person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    position text,
    focal_point boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, organization_id)
);
CREATE INDEX affiliations_organization ON affiliations (organization_id);
-- One focal point per organisation.
CREATE UNIQUE INDEX affiliations_one_focal_point ON affiliations (organization_id) WHERE focal_point;

CREATE TABLE series (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    country text CHECK (country ~ '^[A-Z]{2}$'),
    description text,
    created_by uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX series_name ON series (lower(name));

CREATE TABLE events (
    id uuid PRIMARY KEY,
    series_id uuid REFERENCES series (id) ON DELETE SET NULL,
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    summary text,
    country text CHECK (country ~ '^[A-Z]{2}$'),
    -- IANA name, e.g. Asia/Tokyo: times are stored in UTC and shown in this zone.
    timezone text NOT NULL,
    format text NOT NULL CHECK (format IN ('online', 'in_person', 'hybrid')),
    venue text,
    online_url text,
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'completed', 'cancelled')),
    created_by uuid REFERENCES accounts (id) ON DELETE SET NULL,
    published_at timestamptz,
    cancelled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_series ON events (series_id);
CREATE INDEX events_status ON events (status);

ALTER TABLE emails ADD CONSTRAINT emails_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE;

CREATE TABLE event_partners (
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    role text NOT NULL CHECK (role IN ('organizer', 'co_organizer', 'supporter', 'funder')),
    PRIMARY KEY (event_id, organization_id)
);

CREATE TABLE event_staff (
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    lead boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, account_id)
);
CREATE INDEX event_staff_account ON event_staff (account_id);

CREATE TABLE sessions (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    description text,
    access text NOT NULL CHECK (access IN ('closed', 'public')),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    -- NULL: unlimited.
    capacity integer CHECK (capacity >= 0),
    registration_opens_at timestamptz,
    registration_closes_at timestamptz,
    requires_approval boolean NOT NULL DEFAULT false,
    waitlist boolean NOT NULL DEFAULT true,
    chatham_house boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (registration_closes_at IS NULL OR registration_opens_at IS NULL
           OR registration_closes_at > registration_opens_at)
);
CREATE INDEX sessions_event ON sessions (event_id, starts_at);

CREATE TABLE speakers (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    person_id uuid REFERENCES people (id) ON DELETE SET NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    organization text,
    role text NOT NULL CHECK (role IN ('opening_remarks', 'keynote', 'presenter', 'discussant', 'moderator', 'commentator')),
    sort_order integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX speakers_session ON speakers (session_id, sort_order);

CREATE TABLE outcomes (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    session_id uuid REFERENCES sessions (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    body_markdown text NOT NULL,
    published_at timestamptz,
    created_by uuid REFERENCES accounts (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outcomes_event ON outcomes (event_id, created_at);

CREATE TABLE invitations (
    id uuid PRIMARY KEY,
    event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    -- SHA-256 of the emailed token; replaced on resend so the old link stops working.
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    message text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'revoked')),
    expires_at timestamptz NOT NULL,
    sent_by uuid REFERENCES accounts (id) ON DELETE SET NULL,
    answered_at timestamptz,
    reminders_sent integer NOT NULL DEFAULT 0,
    last_reminded_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitations_event ON invitations (event_id, created_at);
CREATE INDEX invitations_person ON invitations (person_id);

-- The closed sessions an invitation offers; `accepted` records the invitee's choice.
CREATE TABLE invitation_sessions (
    invitation_id uuid NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    accepted boolean,
    PRIMARY KEY (invitation_id, session_id)
);
CREATE INDEX invitation_sessions_session ON invitation_sessions (session_id);

-- Waitlist order: a registration takes the next number when it is waitlisted.
CREATE SEQUENCE registration_waitlist_seq;

CREATE TABLE registrations (
    id uuid PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    status text NOT NULL CHECK (status IN ('pending_confirmation', 'pending_approval', 'confirmed', 'waitlisted', 'cancelled', 'rejected')),
    source text NOT NULL CHECK (source IN ('public_form', 'invitation', 'organizer')),
    invitation_id uuid REFERENCES invitations (id) ON DELETE SET NULL,
    -- What the registrant said of themselves (an organisation of the partnership, or a name).
    organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
    organization_name text,
    country text CHECK (country ~ '^[A-Z]{2}$'),
    waitlist_seq bigint,
    -- SHA-256 of the emailed confirmation and cancellation tokens.
    confirm_token_hash bytea UNIQUE,
    confirm_token_expires_at timestamptz,
    cancel_token_hash bytea UNIQUE,
    confirmed_at timestamptz,
    cancelled_at timestamptz,
    checked_in_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One live registration per person and session.
CREATE UNIQUE INDEX registrations_live ON registrations (session_id, person_id)
    WHERE status NOT IN ('cancelled', 'rejected');
CREATE INDEX registrations_session_status ON registrations (session_id, status);
CREATE INDEX registrations_waitlist ON registrations (session_id, waitlist_seq) WHERE status = 'waitlisted';
CREATE INDEX registrations_person ON registrations (person_id);
