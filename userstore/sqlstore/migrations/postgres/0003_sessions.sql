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
-- token expires. IDs use the "C" collation, as in authkit_users.
CREATE TABLE authkit_refresh_families (
	id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	user_id    TEXT COLLATE "C" NOT NULL,
	client_id  TEXT COLLATE "C" NOT NULL,
	scope      TEXT   NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);

CREATE INDEX authkit_refresh_families_user ON authkit_refresh_families (user_id);
CREATE INDEX authkit_refresh_families_expires ON authkit_refresh_families (expires_at);

CREATE TABLE authkit_refresh_tokens (
	hash       BYTEA  NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
	family_id  TEXT COLLATE "C" NOT NULL REFERENCES authkit_refresh_families (id) ON DELETE CASCADE,
	expires_at BIGINT NOT NULL,
	spent_at   BIGINT,
	successor  BYTEA
);

CREATE INDEX authkit_refresh_tokens_family ON authkit_refresh_tokens (family_id);
CREATE INDEX authkit_refresh_tokens_expires ON authkit_refresh_tokens (expires_at);

CREATE TABLE authkit_denylist (
	jti_hash BYTEA  NOT NULL PRIMARY KEY CHECK (length(jti_hash) = 32),
	until    BIGINT NOT NULL
);

CREATE INDEX authkit_denylist_until ON authkit_denylist (until);
