DROP TABLE subject_name_keys;
DROP TABLE publication_state;
DROP TABLE events;
ALTER TABLE audit_head DROP COLUMN event_seq;
