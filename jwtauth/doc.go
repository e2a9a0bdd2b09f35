// Package jwtauth issues and verifies OAuth 2.0 access tokens in the JWT
// profile of [RFC 9068] ([RFC 7519] JSON Web Tokens), verified after the JWT
// best current practices of [RFC 8725], and protects HTTP handlers with them
// as Bearer tokens ([RFC 6750]).
//
// # Issuing and verifying
//
// A [KeySet] holds one active signing [Key] and any number of
// verification-only keys; [New] turns it into a [JWT], which implements both
// [Issuer] and [Verifier]. Keys come from [GenerateKey], [NewKey],
// [NewPublicKey] or [ParseKeys] (PEM, JWK or JWK Set bytes);
// [Key.MarshalPEM] and [Key.MarshalJWK] write a key out so that a generated
// key can be kept. Resource servers on other machines use a
// [RemoteVerifier], which follows the issuer's [KeySet.JWKSHandler].
//
// Tokens are signed with jwx and checked by this package's own strict code
// over the standard library's crypto, never by a JOSE parser (see "Threats
// defended").
//
// Issued tokens carry the header "typ": "at+jwt", "kid" and "alg", and the
// claims "iss", "sub", "aud", "exp", "iat", "jti" and "client_id" (RFC 9068
// §2.2: Issue refuses claims without a Subject or a ClientID), and "scope",
// "roles" and custom claims where given ([SetClaim], [ClaimAs]).
//
// # Threats defended
//
// Verify accepts only what it understands and checks everything before
// trusting anything:
//
//   - Algorithm confusion and "none": the algorithm is that of the key the
//     header's "kid" selects (a "kid" is required); the header's "alg" must
//     equal it. An HS256 token signed with the bytes of an RSA or EC public
//     key fails, and "none" is never an algorithm of a key.
//   - Claim injection through the JWS JSON serialization, which jwx's
//     jwt.Parse accepts while taking claims from the unverified outer
//     object: only the compact serialization is accepted, and no token ever
//     reaches jwt.Parse. Signatures are checked with the standard library
//     against the pinned key; claims are read only from the verified
//     payload.
//   - Malleable encodings: each segment must be canonical unpadded
//     base64url (no padding, line breaks or non-zero trailing bits), so one
//     signature has one spelling. ECDSA itself stays malleable ((r, n-s)
//     is a second valid signature of the same claims), so identify tokens
//     by their "jti", never by their bytes.
//   - Parser differentials: header and claims are read by a strict reader
//     that rejects repeated member names (a second "sub") and matches names
//     exactly, and refuses registered claims of the wrong JSON type ("exp"
//     as a string date).
//   - Key injection: "jwk", "jku", "x5u" and "x5c" headers are ignored and
//     never fetched; a [RemoteVerifier] fetches only its configured URL,
//     with timeouts, a size limit and no redirects, accepts only
//     application/jwk-set+json or application/json answers, uses only
//     public keys meant for verification ("use", "key_ops"), and refuses a
//     whole set in which any key carries private or symmetric key material,
//     with an error naming the URL and the key: the issuer has leaked it.
//   - Unknown extensions and nested tokens: any "crit" header is refused,
//     and so is any "cty" header (RFC 7519 §5.2: an access token's payload
//     is its claims, never another token).
//   - Token substitution: "typ" must be "at+jwt", "iss" must match exactly,
//     "aud" must contain one of the configured audiences, and "sub",
//     "jti" and "client_id" must be present (RFC 9068 §2.2);
//     [Config.AllowMissingClientID] relaxes "client_id" alone, for issuers
//     that leave it out.
//   - Replay of old tokens: "exp" and "iat" are required and must be
//     positive numbers; "nbf" and "iat" are honoured; all with a small
//     leeway.
//   - Resource exhaustion: tokens over a size cap (8 KiB by default) are
//     refused before any decoding; RSA keys over 8192 bits are refused.
//   - Weak keys: HMAC secrets shorter than the hash output and RSA keys
//     under 2048 bits are refused, as are keys that do not fit their
//     algorithm.
//   - Secret leaks: the JWKS handler publishes public keys only and never
//     an HMAC secret; errors never contain token content; a [Token] or
//     [Key] formatted with fmt or slog never prints the token or key
//     material.
//
// # Protecting handlers
//
// [Middleware] reads the Bearer token of each request, verifies it with any
// [Verifier] and puts the caller's [Principal] in the request context, where
// [PrincipalFrom] finds it; failures are answered with [WriteChallenge]
// responses ([RFC 6750] §3). [OptionalMiddleware] lets anonymous requests
// through.
//
// Errors from Verify wrap [ErrTokenMalformed], [ErrTokenInvalid],
// [ErrTokenExpired] or [ErrTokenNotYetValid]; compare them with
// [errors.Is].
//
// # Caching
//
// A [JWT] and a [RemoteVerifier] remember tokens that verified, so that a
// client sending the same token on many requests pays for the signature
// check once. The cache is bounded; an entry is used only for the exact
// same token, only while the key set is unchanged, and only while the
// token's "exp", "nbf" and "iat" still hold at the current time. Claims
// returned by Verify may therefore be shared and must not be modified.
// [Middleware] gives every request its own copy in its [Principal], so a
// handler that modifies its principal changes nothing for other requests.
//
// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
// [RFC 7519]: https://www.rfc-editor.org/rfc/rfc7519
// [RFC 8725]: https://www.rfc-editor.org/rfc/rfc8725
// [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068
package jwtauth
