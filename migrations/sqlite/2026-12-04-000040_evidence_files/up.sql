-- Evidence files uploaded to the registry (CONTRACT §6.5). The content is kept
-- outside the database, content-addressed by SHA-256 (LIVECREDIT_EVIDENCE_DIR);
-- a row records one upload: what it is, and who uploaded it (an official, or
-- a listed subject in the portal, who may download only their own uploads).
CREATE TABLE evidence_files (
    id           TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL,
    media_type   TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    file_name    TEXT,
    uploaded_by  TEXT REFERENCES users (id),
    subject_id   TEXT REFERENCES subjects (id),
    uploaded_at  TIMESTAMP NOT NULL,
    CHECK ((uploaded_by IS NULL) <> (subject_id IS NULL))
);
CREATE INDEX evidence_files_sha256_idx ON evidence_files (sha256);
