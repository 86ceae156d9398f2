ALTER TABLE sessions DROP COLUMN sequence;
