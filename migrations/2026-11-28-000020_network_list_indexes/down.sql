DROP INDEX audit_entries_created;
DROP INDEX people_name;
