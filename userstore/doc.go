// Package userstore holds what every part of authkit says about users: the
// [User] record, the [Store] that looks users up and the [Manager] that
// changes them, and the password hashers behind one [PasswordHasher]
// interface.
//
// # Stores
//
// [Store] is the read side the token endpoint and the Bearer middleware
// need: two methods, context first. [Manager] is the administrative side
// (create, update, disable, revoke, delete, list), and
// [PasswordHashUpgrader] the optional compare-and-swap a store offers so
// that a login can replace an outdated hash without overwriting a
// concurrent password change. The sub-packages memory and sqlstore
// implement all three and pass the conformance suite in storetest.
// Usernames are compared after [NormalizeUsername], so
// "Alice@Example.com" and "alice@example.com" name one account.
//
// # Passwords
//
// [Hasher] verifies argon2id (the default, with OWASP's parameters),
// bcrypt (refusing passwords past its 72-byte limit, which it would
// silently truncate) and PBKDF2-SHA256 (as passlib writes it, for migrated
// accounts), hashes new passwords with argon2id, reports outdated hashes
// for rehashing, and bounds how many hashes run at once; its zero value is
// ready to use. [PasswordPolicy] checks new passwords after NIST SP
// 800-63B: a minimum length, a byte cap and an optional breach check.
package userstore
