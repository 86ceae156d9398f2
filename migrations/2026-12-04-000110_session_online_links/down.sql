ALTER TABLE sessions DROP COLUMN online_url;
