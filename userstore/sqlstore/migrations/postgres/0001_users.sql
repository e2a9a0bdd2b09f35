-- Users. Times are Unix microseconds (UTC); tokens_valid_after is NULL for
-- "no cut-off". roles is a JSON array of strings, in the order given.
-- username_key is the userstore.NormalizeUsername form of username: the
-- unique index on it is what makes login names unique. IDs and keys use the
-- "C" collation: compared and ordered byte by byte, whatever the database's
-- locale.

-- Every ID ever handed out, so that an ID is never reused after its user is
-- deleted: a token's "sub" must never name a second account.
CREATE TABLE authkit_user_ids (
	id TEXT COLLATE "C" NOT NULL PRIMARY KEY
);

CREATE TABLE authkit_users (
	id                 TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES authkit_user_ids (id),
	username           TEXT    NOT NULL,
	username_key       TEXT COLLATE "C" NOT NULL UNIQUE,
	name               TEXT    NOT NULL,
	email              TEXT    NOT NULL,
	password_hash      TEXT    NOT NULL CHECK (password_hash <> ''),
	roles              TEXT    NOT NULL,
	disabled           BOOLEAN NOT NULL,
	created_at         BIGINT  NOT NULL,
	updated_at         BIGINT  NOT NULL,
	tokens_valid_after BIGINT
);
