-- Keyset pagination of the lists the network adds: contacts by name, the audit trail newest
-- first. Each page is then one index range scan however deep the client goes.
CREATE INDEX people_name ON people (lower(name), id);
CREATE INDEX audit_entries_created ON audit_entries (created_at, id);
