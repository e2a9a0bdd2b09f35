package sqlstore

import "strings"

// SQLiteDSN returns the modernc.org/sqlite data source name that opens
// (and creates) the database file at path as the store needs it:
//
//	file:PATH?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_txlock=immediate
//
// Every connection of the pool waits up to 5 s for a lock rather than
// failing at once with SQLITE_BUSY, runs in WAL mode (readers never block
// the writer, nor it them), enforces foreign keys, syncs the WAL on every
// commit (a transaction that returned survives a power cut, not only a
// crash of the process), and begins every read-write transaction with
// BEGIN IMMEDIATE. The last matters: a deferred transaction that reads and
// then writes must upgrade its lock, and in WAL mode it gets SQLITE_BUSY at
// once, without waiting, whenever another connection wrote in between.
// Read-only transactions (sql.TxOptions.ReadOnly) still begin deferred.
//
// The characters '%', '?' and '#' in path are escaped as the SQLite URI
// syntax asks; a relative path is relative to the working directory.
func SQLiteDSN(path string) string {
	path = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + path +
		"?_pragma=busy_timeout(5000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(FULL)" +
		"&_txlock=immediate"
}
