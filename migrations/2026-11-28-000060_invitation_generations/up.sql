-- Invitations: a token generation (so a resend's email and reminder are new causes while a
-- retried request is not), when the current link was last sent, and the organisation the
-- invitee was invited as (carried into their registrations for the stakeholder balance).
ALTER TABLE invitations
    ADD COLUMN generation integer NOT NULL DEFAULT 1 CHECK (generation >= 1),
    ADD COLUMN sent_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL;

-- The expiry sweep looks for pending invitations past their expiry.
CREATE INDEX invitations_pending_expiry ON invitations (expires_at) WHERE status = 'pending';
