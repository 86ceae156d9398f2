-- An account is its person only once its address is verified: the account holds the address
-- it logs in with and the name typed at signup, and is joined to its person (found or created
-- by that address) by the verification link or a completed password reset. Until then it has
-- no person, so it sees and holds nothing of anyone's.

ALTER TABLE accounts ADD COLUMN email text, ADD COLUMN name text;

UPDATE accounts a SET email = p.email, name = p.name FROM people p WHERE p.id = a.person_id;

ALTER TABLE accounts
    ALTER COLUMN email SET NOT NULL,
    ALTER COLUMN name SET NOT NULL,
    -- Stored lower-cased like people.email (EmailAddress normalises at the edge).
    ADD CONSTRAINT accounts_email_key UNIQUE (email),
    ADD CONSTRAINT accounts_email_check CHECK (email = lower(email) AND email LIKE '%_@_%'),
    ADD CONSTRAINT accounts_name_check CHECK (length(name) BETWEEN 1 AND 200),
    ALTER COLUMN person_id DROP NOT NULL;

-- Accounts that never proved their address let go of the person they had claimed.
UPDATE accounts SET person_id = NULL WHERE email_verified_at IS NULL;

ALTER TABLE accounts ADD CONSTRAINT accounts_person_only_when_verified
    CHECK (person_id IS NULL OR email_verified_at IS NOT NULL);
