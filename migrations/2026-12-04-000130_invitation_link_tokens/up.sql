-- Second links to an invitation, minted by the email worker when it sends a reminder, so that
-- no queued row ever holds a usable token: the reminder waits in the outbox with a placeholder
-- where its link's token goes. Stored hashed like every token; a link works only while its
-- generation is the invitation's (a resend, which replaces the emailed token, ends them too).
CREATE TABLE invitation_link_tokens (
    token_hash bytea PRIMARY KEY,
    invitation_id uuid NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    generation integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX invitation_link_tokens_invitation_id_idx ON invitation_link_tokens (invitation_id);

-- Reminders already queued lose the token they hold; the worker mints one when it sends them.
UPDATE emails
SET text_body = regexp_replace(text_body, '/invitations/[A-Za-z0-9_-]{43}',
                               '/invitations/LINK_TOKEN_MINTED_AT_SEND_TIME', 'g'),
    html_body = regexp_replace(html_body, '/invitations/[A-Za-z0-9_-]{43}',
                               '/invitations/LINK_TOKEN_MINTED_AT_SEND_TIME', 'g')
WHERE kind = 'invitation_reminder' AND status = 'queued';
