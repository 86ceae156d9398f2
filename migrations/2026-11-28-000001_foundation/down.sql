DROP TABLE audit_entries;
DROP TABLE idempotency_keys;
DROP TABLE emails;
DROP TABLE login_failures;
DROP TABLE account_tokens;
DROP TABLE accounts;
DROP TABLE people;
