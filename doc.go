// Package authkit is the root of a Go authentication library: the OAuth 2.0
// password-grant token endpoint ([RFC 6749] §4.3), JWT access tokens after
// [RFC 9068], Bearer-token middleware ([RFC 6750]), role checks, and password
// storage with modern hashes.
//
// The packages, each usable alone:
//
//   - [github.com/authkit-go/authkit/userstore]: users, the Store and
//     PasswordHasher interfaces, argon2id (default), bcrypt and PBKDF2
//     hashers, and a password policy after NIST SP 800-63B.
//   - [github.com/authkit-go/authkit/userstore/memory]: an in-memory Store.
//   - [github.com/authkit-go/authkit/jwtauth]: token issuing and verification
//     on signed JWTs, key sets with rotation, a JWKS handler, a remote JWKS
//     verifier, and the Bearer middleware.
//   - [github.com/authkit-go/authkit/rbac]: middleware that requires roles,
//     scopes or permissions.
//   - [github.com/authkit-go/authkit/oauth2pw]: the token endpoint.
//
// Every middleware has the shape func(http.Handler) http.Handler, so it mounts
// on net/http's ServeMux and on any other router.
//
// [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
// [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068
package authkit
