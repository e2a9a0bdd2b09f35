-- Refresh-token families and the access-token denylist
-- (oauth2pw.RefreshStore, jwtauth.Denylist). Times are Unix microseconds
-- (UTC). A family is one login: its user, client, granted scope (a JSON
-- array of strings), start and absolute expiry. Its tokens are named by
-- their 32-byte SHA-256 digest; spent_at is NULL for the one live token of
-- a family, and the time of its rotation for the others, whose successor
-- column holds the successor sealed by the token endpoint. The live
-- token's expires_at is the family's idle expiry, and the latest spent_at
-- its last use. Deleting a family deletes its tokens. The denylist keys
-- an access token by the SHA-256 digest of its "jti" claim, until the
-- token expires.
CREATE TABLE authkit_refresh_families (
	id         TEXT    NOT NULL PRIMARY KEY,
	user_id    TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	scope      TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX authkit_refresh_families_user ON authkit_refresh_families (user_id);
CREATE INDEX authkit_refresh_families_expires ON authkit_refresh_families (expires_at);

CREATE TABLE authkit_refresh_tokens (
	hash       BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
	family_id  TEXT    NOT NULL REFERENCES authkit_refresh_families (id) ON DELETE CASCADE,
	expires_at INTEGER NOT NULL,
	spent_at   INTEGER,
	successor  BLOB
) STRICT, WITHOUT ROWID;

CREATE INDEX authkit_refresh_tokens_family ON authkit_refresh_tokens (family_id);
CREATE INDEX authkit_refresh_tokens_expires ON authkit_refresh_tokens (expires_at);

CREATE TABLE authkit_denylist (
	jti_hash BLOB    NOT NULL PRIMARY KEY CHECK (length(jti_hash) = 32),
	until    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX authkit_denylist_until ON authkit_denylist (until);
