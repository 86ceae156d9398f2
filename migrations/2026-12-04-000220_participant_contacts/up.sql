-- Whom participants contact about an event: shown on its page and in its emails, and the
-- Reply-To of its messages.
ALTER TABLE events ADD COLUMN contact_name text, ADD COLUMN contact_email text;

-- The Reply-To of a message (an RFC 5322 mailbox, "Name <address>"), when it has one.
ALTER TABLE emails ADD COLUMN reply_to text;

-- The kind a registrant chose for an organisation they typed (one not in the directory), so
-- the stakeholder report can count it; a directory organisation's kind is its own.
ALTER TABLE registrations ADD COLUMN organization_kind text
    CHECK (organization_kind IN ('government', 'regional_organization',
        'international_organization', 'civil_society', 'academia', 'think_tank', 'other'));
