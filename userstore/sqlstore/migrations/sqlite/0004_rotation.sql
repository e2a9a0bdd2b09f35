-- A rotation in one statement: the UPDATE that spends a token also names
-- its successor's digest and expiry, and a trigger inserts the successor
-- into the spent token's family. SQLite runs the statement and its
-- trigger atomically; if the insert fails (the digest is taken), the
-- spend is undone with it. One statement commits without an explicit
-- transaction around it, so a rotation costs what any other single write
-- does.
ALTER TABLE authkit_refresh_tokens ADD COLUMN successor_hash BLOB
	CHECK (successor_hash IS NULL OR length(successor_hash) = 32);
ALTER TABLE authkit_refresh_tokens ADD COLUMN successor_expires_at INTEGER;

CREATE TRIGGER authkit_refresh_tokens_rotate
AFTER UPDATE OF successor_hash ON authkit_refresh_tokens
WHEN NEW.successor_hash IS NOT NULL
BEGIN
	INSERT INTO authkit_refresh_tokens (hash, family_id, expires_at)
	VALUES (NEW.successor_hash, NEW.family_id, NEW.successor_expires_at);
END;
