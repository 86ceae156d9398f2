-- The revision of a session's calendar entries (RFC 5545 SEQUENCE): raised by every change a
-- calendar shows (time, title, description, link) and by every METHOD:CANCEL sent for it, so
-- each .ics Convene sends for the session carries a number at least as high as any before.
ALTER TABLE sessions ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0 CHECK (sequence >= 0);
