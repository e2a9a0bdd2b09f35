-- The records of the login throttle that several instances share
-- (oauth2pw.ThrottleStore). key is an opaque 32-byte digest the limiter
-- derives; times are Unix nanoseconds (UTC), 0 for none. A row whose
-- expires is not after the current time counts as absent, and is deleted
-- as writes happen. held rows (past their hold count, or with a success)
-- are the last to go when the table is full. memo is the limiter's own
-- small record (digests of recently failed secrets).
CREATE TABLE authkit_throttle (
	key          BLOB    NOT NULL PRIMARY KEY CHECK (length(key) = 32),
	attempts     INTEGER NOT NULL,
	last_charge  INTEGER NOT NULL,
	prev_charge  INTEGER NOT NULL,
	last_success INTEGER NOT NULL,
	hold         INTEGER NOT NULL,
	held         INTEGER NOT NULL CHECK (held IN (0, 1)),
	memo         BLOB,
	expires      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX authkit_throttle_expires ON authkit_throttle (expires);
CREATE INDEX authkit_throttle_evict ON authkit_throttle (held, expires);
