// Package openapi describes an API protected by authkit in an [OpenAPI 3.1]
// document: the OAuth 2.0 password grant as a security scheme
// ("type": "oauth2", "flows.password.tokenUrl", an optional refreshUrl and
// the scopes), the security requirement of each operation as the rbac checks
// enforce it, and the error answers of [RFC 6749] §5.2 and [RFC 6750] §3 with
// their WWW-Authenticate headers.
//
// The package speaks in plain values, not in the types of the handlers it
// describes: a [Scheme] names the token URL and the scopes, an [Operation]
// the method, path, schemas and the roles or scopes its route requires.
//
// # Two ways in
//
// [Build] writes a whole document from a [Document]: the service's own
// operations, each with its request and response schemas, plus the token
// endpoint as [TokenEndpoint] describes it. [Merge] adds the same pieces to a
// document that another tool generated: the security scheme, the error
// components, and for each operation the security requirement and the error
// answers (an operation the document lacks is added whole).
//
// # What an operation's fields become
//
// An operation that is not Public gets a security requirement on the scheme,
// and the answers 400 (invalid_request), 401 (no token, or invalid_token)
// and, when it requires roles or scopes, 403 (insufficient_scope), unless it
// documents that status itself. Scopes map onto OpenAPI as the rbac checks
// read them: AllScopes is one requirement listing every scope (all needed),
// AnyScope one requirement per scope (any one suffices). Roles have no place
// in an OAuth 2.0 security requirement, whose names are scopes, so AnyRole
// and AllRoles go into the operation's description and its
// "x-authkit-access" extension, which lists all four fields.
//
// # Swagger UI
//
// Package [github.com/authkit-go/authkit/oauth2pw/openapi/swaggerui] serves
// Swagger UI, offline, for such a document: its Authorize button logs in
// with the password flow.
//
// [OpenAPI 3.1]: https://spec.openapis.org/oas/v3.1.1.html
// [RFC 6749]: https://www.rfc-editor.org/rfc/rfc6749
// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
package openapi
