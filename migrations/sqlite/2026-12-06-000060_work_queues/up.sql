-- The console's queues ("my work", CONTRACT §6.8) read one bureau's listings
-- and repairs by state, each in the order its deadline falls due.
CREATE INDEX listings_authority_window_idx ON listings (authority_id, status, objection_deadline);
CREATE INDEX listings_authority_expiry_idx ON listings (authority_id, status, expires_on);
CREATE INDEX listings_authority_publication_idx ON listings (authority_id, status, published_on, publication_due_by);
CREATE INDEX repairs_authority_idx ON repairs (authority_id, status);
