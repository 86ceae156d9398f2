-- Every account has a person again: the one with its address, created where there is none.
ALTER TABLE accounts DROP CONSTRAINT accounts_person_only_when_verified;

INSERT INTO people (id, email, name)
SELECT gen_random_uuid(), a.email, a.name FROM accounts a WHERE a.person_id IS NULL
ON CONFLICT (email) DO NOTHING;

UPDATE accounts a SET person_id = p.id FROM people p
WHERE a.person_id IS NULL AND p.email = a.email;

ALTER TABLE accounts
    ALTER COLUMN person_id SET NOT NULL,
    DROP COLUMN email,
    DROP COLUMN name;
