-- Queued reminders hold no token any more and nothing would fill in their link: withdraw them.
UPDATE emails
SET status = 'cancelled'
WHERE kind = 'invitation_reminder' AND status = 'queued'
  AND text_body LIKE '%LINK_TOKEN_MINTED_AT_SEND_TIME%';

DROP TABLE invitation_link_tokens;
