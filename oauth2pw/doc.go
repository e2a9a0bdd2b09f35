// Package oauth2pw implements the OAuth 2.0 token endpoint for the resource
// owner password credentials grant ([RFC 6749] §4.3).
//
// The password grant hands the user's password to the client. The OAuth 2.0
// Security Best Current Practice ([RFC 9700] §2.4) says it MUST NOT be used,
// and OAuth 2.1 drops it. It remains useful in one place: a first-party
// application (your own web or mobile front end, talking to your own API)
// that is moving from a login form to tokens. Never offer it to third-party
// clients, and plan a move to the authorization code grant with PKCE. The
// defaults limit the damage: short-lived tokens (30 minutes by default, the
// issuer's [jwtauth.Config.TTL]), no scopes unless configured, and
// throttling of failed logins switched on.
//
// # Requests and answers
//
// [NewHandler] returns an [http.Handler] to mount at the token endpoint's
// path on any router. It accepts only POST requests with an
// application/x-www-form-urlencoded body of at most 4 KiB (configurable),
// read through [http.MaxBytesReader] before any parsing. It reads
// grant_type ("password", or "refresh_token" when [Config.Refresh] is
// on), username and password (or refresh_token), and the optional scope,
// client_id and client_secret; each may appear at most once
// (RFC 6749 §3.2) and other parameters are ignored. A token request
// parameter in the URL's query string (those, and refresh_token) is
// refused even beside a valid body: in a URL it has already reached access
// logs, and refusing tells the client to fix it. A username or password
// that is not UTF-8, or that holds a control character other than TAB
// (C0, DEL, C1), is refused before any lookup or hash.
//
// A successful login answers 200 with
//
//	{"access_token": "...", "token_type": "Bearer", "expires_in": 1800, "scope": "..."}
//
// where "scope" is present whenever the token carries scopes and
// "expires_in" is the issued token's lifetime, its "exp" less its "iat":
// the issuer ([Config.Tokens]) alone decides it. Errors are RFC
// 6749 §5.2 JSON bodies, {"error": "...", "error_description": "..."}, with
// descriptions from a fixed vocabulary that never echoes the request:
//
//	wrong password, unknown or disabled user   400 invalid_grant
//	refresh token unknown, expired, spent,
//	revoked or another client's                400 invalid_grant
//	missing or repeated parameter, not a form  400 invalid_request
//	parameter in the query string              400 invalid_request
//	control character or bad UTF-8 in the
//	username or password                       400 invalid_request
//	two Authorization headers, or Basic
//	beside client_id or client_secret          400 invalid_request
//	grant_type not supported                   400 unsupported_grant_type
//	scope the user or client may not have      400 invalid_scope
//	bad client credentials, credentials of no
//	known client, a scheme other than Basic    401 invalid_client, WWW-Authenticate: Basic
//	body over the size cap                     413 invalid_request
//	method other than POST                     405 invalid_request, Allow: POST
//	too many failed logins, refreshes or
//	client authentications                     429 slow_down, Retry-After
//	store, hasher, issuer or Claims hook
//	failure                                    500 server_error
//	no hashing slot within HashWait, the
//	throttle store failed, or the request's
//	context ended                              503 temporarily_unavailable, Retry-After
//
// Every answer, success or error, carries Cache-Control: no-store and
// Pragma: no-cache.
//
// # Account enumeration
//
// An unknown user, a wrong password and a disabled user get the same
// answer after the same work: one password verification. For an unknown
// user the handler verifies against a dummy hash, which [NewHandler] makes
// with the configured hasher, so it costs what a current stored hash costs;
// a disabled user's password is verified before the user is refused, and
// a user whose stored hash cannot be read (empty, a locked-account marker,
// an unknown algorithm) costs a verification against the dummy hash. (A
// user whose stored hash is of an older algorithm or cheaper parameters
// costs that hash's time until a login upgrades it, see below.) A password
// longer than the policy's byte cap is refused without hashing, whoever
// the user.
//
// # Throttling
//
// Failed logins are counted per (username, client address) pair, per address
// and per username; past a limit, attempts wait a delay that doubles with
// each failure, up to a cap, and are answered 429 before any hashing, even
// when the password is right. Failed client authentications are counted
// the same way, per client_id. The limiter sees a keyed digest of the
// password or client secret ([ThrottleKey].Secret), never the secret, so
// that it can count a retried failure once. See [ThrottlePolicy] for the
// in-memory default and [Limiter] to share counts between instances.
// Behind a reverse proxy, name it in [Config.TrustedProxies], or every
// client counts as the proxy's address.
//
// # Resource limits
//
// A login holds one of [Config.MaxConcurrentHashes] hashing slots (by
// default one per CPU) from its throttle check to the end of its password
// verification, and the new hash of an outdated one; the signing and the
// store writes after it hold none. A login that cannot get one within [Config.HashWait] (2
// seconds by default) is answered 503 temporarily_unavailable with
// Retry-After, and nothing is counted against the user. A request whose
// context has ended (the client hung up) before the throttle check costs
// no hash and counts nothing; once admitted, a verification runs to its
// end.
//
// # Scopes and clients
//
// A requested scope must be a subset of what the user may have: by default,
// the scopes named like the user's roles; see [Config.RoleScopes]. A
// request without a scope gets [Config.DefaultScopes]. Client
// authentication is optional ([Config.Clients], [Config.RequireClient]):
// public clients name themselves with client_id; confidential clients
// authenticate with HTTP Basic or with client_id and client_secret in the
// form, never both. Credentials that a request presents are always
// checked, with or without Clients: a client_id, Basic header or
// client_secret naming no known client is refused, and so is a Bearer or
// other non-Basic Authorization header. The empty Basic credential
// "Basic Og==", which Swagger UI and golang.org/x/oauth2 send when no
// client is set, counts as none. Every token carries a client_id claim
// (RFC 9068): the client's, or [Config.DefaultClientID] ("authkit" by
// default) for a request that names none.
//
// # Custom claims
//
// Every token carries "sub" (the user's ID), "client_id", "scope" where
// granted and "roles", besides what the issuer adds ("iss", "aud", "iat",
// "exp", "jti"). [Config.Claims] adds claims of the application's own
// from the stored user, such as a role name or a tenant ID, with
// [jwtauth.SetClaim]; resource servers read them with [jwtauth.ClaimAs].
// The hook cannot change the claims the endpoint or the issuer owns: a
// hook that tries fails the login with 500 server_error, and the cause is
// logged.
//
// # Sessions
//
// With [Config.Refresh] set, the password grant also returns an opaque
// refresh_token ([RFC 6749] §6), and grant_type=refresh_token trades it for
// a new access token and a new refresh token: each refresh token is good
// for one use. The store keeps only a SHA-256 of each token, and the login
// it belongs to as a family (user, client, scope, creation, last use,
// absolute and idle expiry). A spent token presented again revokes the
// whole family ([RFC 9700] §4.14.2), except within RefreshConfig's short
// GraceWindow, where the retry of a refresh whose answer was lost gets the
// same successor; concurrent refreshes with one token never fork the
// family. Each refresh checks the user again: disabled, deleted, or
// changed since the family began (a moved TokensValidAfter) means
// invalid_grant. The scope of a refresh may only narrow.
//
// [Handler.RevocationHandler] is the RFC 7009 endpoint (a refresh token
// revokes its family; an access token is denied until it expires, for
// middlewares given [jwtauth.WithDenylist]); [Handler.IntrospectionHandler]
// is the RFC 7662 endpoint for confidential clients;
// [Handler.SignOutHandler] ends the caller's session or, with
// everywhere=true, every session of the user; [Handler.MetadataHandler]
// serves the RFC 8414 document.
//
// # Diagnostics
//
// [Config.Logger] is told why each answer was given, never the password,
// the client secret or the token: successful, failed and throttled logins
// and client authentications at levels Info and Warn with a reason, the
// cause of every 500 at level Error, and, at level Debug, every request
// refused for its shape before any login (its address and the answer's
// code and description, and the cause where there is one, such as a body
// cut off).
//
// # Rehash on login
//
// When the user's stored hash is outdated (see
// [userstore.PasswordHasher.NeedsRehash]) and the store implements
// [userstore.PasswordHashUpgrader], a successful login stores a fresh hash.
// A failure to store it is logged and does not fail the login.
//
// [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
// [RFC 9700]: https://www.rfc-editor.org/rfc/rfc9700
package oauth2pw
