DROP TABLE violation_evidence;
DROP TABLE violations;
DROP TABLE subject_accounts;
DROP TABLE subject_names;
DROP TABLE subjects;
DROP TABLE idempotency_keys;
DROP TABLE audit_head;
DROP TABLE audit_log;
