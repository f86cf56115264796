-- Credit repair as SAMR Order 107 has it (docs/procedure.md), and the listed
-- party's portal: repairs become their own resource with acceptance,
-- supplement, deadlines and the head's decision; repaired penalties are
-- marked; the notice's access code moves to its own table (a regulator may
-- issue a new one); the audit chain can name a subject as actor.

CREATE TABLE repairs (
    id                      TEXT PRIMARY KEY,
    listing_id              TEXT NOT NULL REFERENCES listings (id),
    subject_id              TEXT NOT NULL REFERENCES subjects (id),
    authority_id            TEXT REFERENCES organizations (id),
    status                  TEXT NOT NULL CHECK (status IN ('submitted', 'supplement_requested', 'accepted', 'approved', 'rejected', 'refused')),
    channel                 TEXT NOT NULL CHECK (channel IN ('online', 'in_person')),
    statement               TEXT NOT NULL,
    commitment_text         TEXT NOT NULL,
    commitment_signed_on    DATE NOT NULL,
    penalty_fulfilled       BOOLEAN NOT NULL,
    harm_removed            BOOLEAN NOT NULL,
    evidence                TEXT NOT NULL DEFAULT '[]',
    applied_on              DATE NOT NULL,
    acceptance_due_by       DATE,
    recorded_by             TEXT REFERENCES users (id),
    recorded_at             TIMESTAMP NOT NULL,
    missing                 TEXT NOT NULL DEFAULT '[]',
    supplement_requested_on DATE,
    supplemented_on         DATE,
    supplement_statement    TEXT,
    accepted_on             DATE,
    accepted_by             TEXT REFERENCES users (id),
    acceptance_reason       TEXT,
    decision_due_by         DATE,
    extended_on             DATE,
    extended_by             TEXT REFERENCES users (id),
    extension_reason        TEXT,
    decided_on              DATE,
    decided_by              TEXT REFERENCES users (id),
    decision_reason         TEXT,
    updated_at              TIMESTAMP NOT NULL
);
CREATE INDEX repairs_listing_idx ON repairs (listing_id, id);
CREATE INDEX repairs_status_idx ON repairs (status, id);
CREATE INDEX repairs_subject_idx ON repairs (subject_id, id);

-- Applications recorded under the 2021 rules: in person, accepted when made.
INSERT INTO repairs (id, listing_id, subject_id, authority_id, status, channel, statement,
    commitment_text, commitment_signed_on, penalty_fulfilled, harm_removed, evidence, applied_on,
    recorded_by, recorded_at, accepted_on, accepted_by, decided_on, decided_by, decision_reason, updated_at)
SELECT r.id, r.listing_id, l.subject_id, l.authority_id,
    CASE r.outcome WHEN 'approve' THEN 'approved' WHEN 'reject' THEN 'rejected' ELSE 'accepted' END,
    'in_person', r.statement, '', r.applied_on, TRUE, TRUE, r.evidence, r.applied_on,
    r.recorded_by, r.recorded_at, r.applied_on, r.recorded_by, r.decided_on, r.decided_by,
    r.decision_reason, r.recorded_at
FROM repair_applications r JOIN listings l ON l.id = r.listing_id;
DROP TABLE repair_applications;

-- The subject's access code (CONTRACT §6.5): one per listing, the latest counts.
CREATE TABLE portal_codes (
    listing_id TEXT PRIMARY KEY REFERENCES listings (id),
    code_hash  TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    issued_at  TIMESTAMP NOT NULL,
    issued_by  TEXT REFERENCES users (id)
);
CREATE UNIQUE INDEX portal_codes_hash_key ON portal_codes (code_hash);
INSERT INTO portal_codes (listing_id, code_hash, epoch, issued_at, issued_by)
SELECT id, access_code_hash, 1, updated_at, noticed_by FROM listings WHERE access_code_hash IS NOT NULL;
DROP INDEX listings_access_code_key;
ALTER TABLE listings DROP COLUMN access_code_hash;

-- A repair found false bars new applications (Order 107 art. 23 ¶2).
ALTER TABLE listings ADD COLUMN repair_barred_until DATE;

-- Repaired penalties stop counting for platforms and the public (Order 107 art. 2, 13 ¶3).
ALTER TABLE violations ADD COLUMN repaired_on DATE;

-- A subject acting in the portal, as the audit chain names it.
ALTER TABLE audit_log ADD COLUMN actor_subject_id TEXT;

-- A statement lodged by the party itself in the portal has no recording official.
ALTER TABLE objections ALTER COLUMN recorded_by DROP NOT NULL;
ALTER TABLE objections ADD COLUMN channel TEXT NOT NULL DEFAULT 'in_person' CHECK (channel IN ('online', 'in_person'));
