-- The change stream that keeps every instance's in-memory screening index
-- and authorization cache current (docs/ARCHITECTURE.md "The screening
-- index"). Every write that changes what screening answers about a subject,
-- or who a user is, appends a row in its own transaction. Sequence numbers
-- come from the one `change_head` row, whose lock the writer holds until it
-- commits: a reader that has seen number n has seen every number below it.
CREATE TABLE change_head (
    id  INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);
INSERT INTO change_head (id, seq) VALUES (1, 0);
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX changes_changed_at_idx ON changes (changed_at);
