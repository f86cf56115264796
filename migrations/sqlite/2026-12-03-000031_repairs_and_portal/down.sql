DELETE FROM objections WHERE recorded_by IS NULL;
ALTER TABLE objections DROP COLUMN channel;
ALTER TABLE audit_log DROP COLUMN actor_subject_id;
ALTER TABLE violations DROP COLUMN repaired_on;
ALTER TABLE listings DROP COLUMN repair_barred_until;
ALTER TABLE listings ADD COLUMN access_code_hash TEXT;
UPDATE listings SET access_code_hash = (SELECT code_hash FROM portal_codes p WHERE p.listing_id = listings.id);
CREATE UNIQUE INDEX listings_access_code_key ON listings (access_code_hash);
DROP TABLE portal_codes;
CREATE TABLE repair_applications (
    id              TEXT PRIMARY KEY,
    listing_id      TEXT NOT NULL REFERENCES listings (id),
    statement       TEXT NOT NULL,
    evidence        TEXT NOT NULL,
    applied_on      DATE NOT NULL,
    recorded_by     TEXT NOT NULL REFERENCES users (id),
    recorded_at     TIMESTAMP NOT NULL,
    outcome         TEXT,
    decided_by      TEXT REFERENCES users (id),
    decided_on      DATE,
    decision_reason TEXT
);
CREATE INDEX repair_applications_listing_idx ON repair_applications (listing_id, id);
-- Online applications (no recording official) have no place in v1 and are dropped.
INSERT INTO repair_applications (id, listing_id, statement, evidence, applied_on, recorded_by,
    recorded_at, outcome, decided_by, decided_on, decision_reason)
SELECT id, listing_id, statement, evidence, applied_on, recorded_by, recorded_at,
    CASE status WHEN 'approved' THEN 'approve' WHEN 'rejected' THEN 'reject' WHEN 'refused' THEN 'reject' END,
    decided_by, decided_on, decision_reason
FROM repairs WHERE recorded_by IS NOT NULL;
DROP TABLE repairs;
