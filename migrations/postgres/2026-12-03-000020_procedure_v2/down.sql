DROP TABLE review_flags;
DROP TABLE document_numbers;
DROP TABLE listing_documents;
DROP TABLE listing_consents;
DROP INDEX listings_access_code_key;
DROP INDEX listings_notice_no_key;
ALTER TABLE listings DROP COLUMN publication_due_by, DROP COLUMN published_on, DROP COLUMN measures, DROP COLUMN decision_no,
    DROP COLUMN access_code_hash, DROP COLUMN notice_no, DROP COLUMN no_intent_proven,
    DROP COLUMN considerations, DROP COLUMN hearing_status;
-- Pending penalties have no place in v1: they are dropped with their evidence.
DELETE FROM violation_evidence WHERE violation_id IN (SELECT id FROM violations WHERE status = 'pending');
DELETE FROM listing_violations WHERE violation_id IN (SELECT id FROM violations WHERE status = 'pending');
DELETE FROM violations WHERE status = 'pending';
ALTER TABLE violations DROP COLUMN decided_by, DROP COLUMN decided_at, DROP COLUMN listing_ground, DROP COLUMN ban_until,
    DROP COLUMN heavier_penalty, DROP COLUMN penalty_kinds;
ALTER TABLE violations DROP CONSTRAINT violations_pending_check;
ALTER TABLE violations DROP CONSTRAINT violations_status_check;
ALTER TABLE violations ADD CONSTRAINT violations_status_check CHECK (status IN ('effective', 'revoked'));
ALTER TABLE violations ALTER COLUMN decided_on SET NOT NULL;
ALTER TABLE users DROP COLUMN can_approve;
DROP INDEX organizations_parent_idx;
ALTER TABLE organizations DROP COLUMN parent_id, DROP COLUMN level;
