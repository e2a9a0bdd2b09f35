-- Users. Times are Unix microseconds (UTC); tokens_valid_after is NULL for
-- "no cut-off". roles is a JSON array of strings, in the order given.
-- username_key is the userstore.NormalizeUsername form of username: the
-- unique index on it is what makes login names unique.

-- Every ID ever handed out, so that an ID is never reused after its user is
-- deleted: a token's "sub" must never name a second account.
CREATE TABLE authkit_user_ids (
	id TEXT NOT NULL PRIMARY KEY
) STRICT, WITHOUT ROWID;

CREATE TABLE authkit_users (
	id                 TEXT    NOT NULL PRIMARY KEY REFERENCES authkit_user_ids (id),
	username           TEXT    NOT NULL,
	username_key       TEXT    NOT NULL UNIQUE,
	name               TEXT    NOT NULL,
	email              TEXT    NOT NULL,
	password_hash      TEXT    NOT NULL CHECK (password_hash <> ''),
	roles              TEXT    NOT NULL,
	disabled           INTEGER NOT NULL CHECK (disabled IN (0, 1)),
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	tokens_valid_after INTEGER
) STRICT, WITHOUT ROWID;
