package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Operation describes one route of the API: what it takes, what it answers,
// and who may call it. Method and Path are required.
//
// The zero value of the access fields means "any valid access token": the
// operation gets a security requirement on the [Scheme] with no scopes, as
// the Bearer middleware alone enforces. Public removes the requirement;
// the role and scope fields say what the rbac check mounted on the route
// requires.
type Operation struct {
	// Method is the HTTP method, such as "GET". Required.
	Method string
	// Path is the OpenAPI path template, such as "/api/me" or
	// "/users/{id}". Required.
	Path string
	// ID is the operationId. Empty means none.
	ID string
	// Summary and Description describe the operation. Empty means none.
	Summary, Description string
	// Tags group the operation in viewers such as Swagger UI. Nil means
	// none.
	Tags []string

	// Public marks an operation that takes no access token: its security
	// requirement is the empty list, which also overrides a document-wide
	// one. The role and scope fields must then be empty.
	Public bool
	// AnyRole lists roles of which the caller must hold at least one, as
	// rbac.RequireAny (rbac.Require) checks. Nil means no role check.
	AnyRole []string
	// AllRoles lists roles that the caller must all hold, as
	// rbac.RequireAll checks. Nil means no such check.
	AllRoles []string
	// AnyScope lists scopes of which the token must grant at least one, as
	// rbac.RequireAnyScope checks: one security requirement per scope.
	// Each must be a scope of the [Scheme]. Nil means no such check.
	AnyScope []string
	// AllScopes lists scopes that the token must all grant, as
	// rbac.RequireAllScopes checks: they are listed in every security
	// requirement. Each must be a scope of the [Scheme]. Nil means no such
	// check.
	AllScopes []string

	// Parameters are the operation's query, path and header parameters.
	// Nil means none.
	Parameters []Parameter
	// Request is the request body. Nil means the operation takes none.
	Request *Body
	// Responses are the operation's own answers. Those that authentication
	// and the rbac checks send (400, 401 and 403) are added for
	// operations that are not Public, unless Responses has that status.
	// Empty means a bare 200 answer.
	Responses []Response
}

// Parameter is a query, path or header parameter of an [Operation].
type Parameter struct {
	// Name is the parameter's name. Required.
	Name string
	// In is "query", "path" or "header". Required.
	In string
	// Description describes the parameter. Empty means none.
	Description string
	// Required says the parameter must be present; path parameters always
	// are.
	Required bool
	// Schema is the JSON Schema of the value. Nil means a string.
	Schema json.RawMessage
}

// Body is a request body or the content of a [Response].
type Body struct {
	// ContentType is the media type. Empty means "application/json".
	ContentType string
	// Schema is the JSON Schema of the body (OpenAPI 3.1 takes JSON
	// Schema 2020-12). Required.
	Schema json.RawMessage
	// Example is an example body, as JSON. Nil means none.
	Example json.RawMessage
	// Description describes the body. Empty means none.
	Description string
	// Required says that a request must carry the body. It has no meaning
	// in a Response.
	Required bool
}

// Response is one answer of an [Operation].
type Response struct {
	// Status is the HTTP status code. Required.
	Status int
	// Description describes the answer. Empty means the status text.
	Description string
	// Headers are the answer's headers. Nil means none documented.
	Headers []Header
	// Body is the answer's body. Nil means none.
	Body *Body

	// component, if not empty, names the response component that stands
	// for this answer, in place of the fields above.
	component string
}

// Header is a header of a [Response].
type Header struct {
	// Name is the header's name. Required.
	Name string
	// Description describes it. Empty means none.
	Description string
	// Required says the header is always sent.
	Required bool
	// Schema is the JSON Schema of the value. Nil means a string.
	Schema json.RawMessage
}

// TokenEndpoint returns the operation of the token endpoint that s
// describes, mounted at path ("/token"): POST with the form body of the
// password grant (and of the refresh grant when s has a RefreshURL), the
// token response, and every error answer of RFC 6749 §5.2 with its headers.
func TokenEndpoint(path string, s Scheme) Operation {
	grants := []any{"password"}
	if s.RefreshURL != "" {
		grants = append(grants, "refresh_token")
	}
	props := object{
		"grant_type": object{"type": "string", "enum": grants, "description": "The grant type."},
		"username":   object{"type": "string", "description": "The resource owner's username (password grant)."},
		"password":   object{"type": "string", "format": "password", "description": "The resource owner's password (password grant)."},
		"scope": object{"type": "string", "description": "Space-separated scopes to request; empty means the endpoint's defaults.",
			"pattern": `^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$`},
		"client_id":     object{"type": "string", "description": "The client, when it does not authenticate with HTTP Basic."},
		"client_secret": object{"type": "string", "format": "password", "description": "The client's secret, when it does not authenticate with HTTP Basic."},
	}
	if s.RefreshURL != "" {
		props["refresh_token"] = object{"type": "string", "description": "The refresh token (refresh_token grant)."}
	}
	form := object{
		"type":        "object",
		"required":    []any{"grant_type"},
		"properties":  props,
		"description": "The password grant needs username and password.",
	}
	return Operation{
		Method:      http.MethodPost,
		Path:        path,
		ID:          "token",
		Summary:     "Log in: exchange a username and password for an access token",
		Description: "The OAuth 2.0 token endpoint (RFC 6749 §4.3 password grant). Parameters go in the form body, never in the URL. A client authenticates with HTTP Basic or client_id and client_secret; requests that name no client log in as the endpoint's default client.",
		Tags:        []string{"auth"},
		Public:      true,
		Request: &Body{
			ContentType: "application/x-www-form-urlencoded",
			Schema:      mustJSON(form),
			Required:    true,
		},
		Responses: []Response{
			{Status: http.StatusOK, Description: "The access token.", Headers: []Header{
				{Name: "Cache-Control", Description: "Always no-store (RFC 6749 §5.1).", Required: true},
				{Name: "Pragma", Description: "Always no-cache.", Required: true},
			}, Body: &Body{Schema: mustJSON(componentRef("schemas", tokenSchemaName))}},
			{Status: http.StatusBadRequest, component: tokenBadRequest},
			{Status: http.StatusUnauthorized, component: tokenInvalidClient},
			{Status: http.StatusMethodNotAllowed, component: tokenNotAllowed},
			{Status: http.StatusRequestEntityTooLarge, component: tokenTooLarge},
			{Status: http.StatusTooManyRequests, component: tokenThrottled},
			{Status: http.StatusServiceUnavailable, component: tokenUnavailable},
		},
	}
}

// mustJSON marshals v, a value built in this package of maps, slices and
// strings, which always marshals.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("openapi: marshal a built-in value: " + err.Error())
	}
	return b
}

// methods are the HTTP methods a Path Item Object has fields for.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// validate reports the first field of op that no document can carry, given
// the scheme s it refers to.
func (op *Operation) validate(s Scheme) error {
	where := op.Method + " " + op.Path
	if !slices.Contains(methods, strings.ToLower(op.Method)) {
		return fmt.Errorf("openapi: operation %s: unknown method %q", where, op.Method)
	}
	if !strings.HasPrefix(op.Path, "/") {
		return fmt.Errorf("openapi: operation %s: the path must start with '/'", where)
	}
	if op.Public && (len(op.AnyRole)+len(op.AllRoles)+len(op.AnyScope)+len(op.AllScopes)) > 0 {
		return fmt.Errorf("openapi: operation %s: Public, yet it requires roles or scopes", where)
	}
	for _, list := range [][]string{op.AnyRole, op.AllRoles} {
		for _, r := range list {
			if r == "" {
				return fmt.Errorf("openapi: operation %s: empty role", where)
			}
		}
	}
	for _, list := range [][]string{op.AnyScope, op.AllScopes} {
		for _, sc := range list {
			if _, ok := s.Scopes[sc]; !ok {
				return fmt.Errorf("openapi: operation %s: scope %q is not one of the Scheme's", where, sc)
			}
		}
	}
	for _, p := range op.Parameters {
		if p.Name == "" || (p.In != "query" && p.In != "path" && p.In != "header") {
			return fmt.Errorf("openapi: operation %s: parameter %q in %q: want a name and query, path or header", where, p.Name, p.In)
		}
		if err := validJSON(p.Schema); err != nil {
			return fmt.Errorf("openapi: operation %s: parameter %s: %w", where, p.Name, err)
		}
	}
	if op.Request != nil {
		if op.Request.Schema == nil {
			return fmt.Errorf("openapi: operation %s: request body without a schema", where)
		}
		if err := op.Request.validJSON(); err != nil {
			return fmt.Errorf("openapi: operation %s: request body: %w", where, err)
		}
	}
	seen := map[int]bool{}
	for _, r := range op.Responses {
		if r.Status < 100 || r.Status > 599 {
			return fmt.Errorf("openapi: operation %s: status %d", where, r.Status)
		}
		if seen[r.Status] {
			return fmt.Errorf("openapi: operation %s: status %d documented twice", where, r.Status)
		}
		seen[r.Status] = true
		if r.Body != nil {
			if r.Body.Schema == nil {
				return fmt.Errorf("openapi: operation %s: %d body without a schema", where, r.Status)
			}
			if err := r.Body.validJSON(); err != nil {
				return fmt.Errorf("openapi: operation %s: %d body: %w", where, r.Status, err)
			}
		}
		for _, h := range r.Headers {
			if h.Name == "" {
				return fmt.Errorf("openapi: operation %s: %d: header without a name", where, r.Status)
			}
			if err := validJSON(h.Schema); err != nil {
				return fmt.Errorf("openapi: operation %s: %d header %s: %w", where, r.Status, h.Name, err)
			}
		}
	}
	return nil
}

// validJSON reports whether the schema and example of b are JSON.
func (b *Body) validJSON() error {
	if err := validJSON(b.Schema); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if err := validJSON(b.Example); err != nil {
		return fmt.Errorf("example: %w", err)
	}
	return nil
}

// validJSON reports whether raw, if not nil, is one JSON value.
func validJSON(raw json.RawMessage) error {
	if raw != nil && !json.Valid(raw) {
		return errors.New("not valid JSON")
	}
	return nil
}

// security returns the operation's security requirements on the scheme
// named scheme: none for a Public operation, one per AnyScope scope (each
// with AllScopes), or one with AllScopes.
func (op *Operation) security(scheme string) []any {
	if op.Public {
		return []any{}
	}
	if len(op.AnyScope) == 0 {
		return []any{object{scheme: stringsToAny(op.AllScopes)}}
	}
	reqs := make([]any, 0, len(op.AnyScope))
	for _, sc := range op.AnyScope {
		scopes := stringsToAny(op.AllScopes)
		if !slices.Contains(op.AllScopes, sc) {
			scopes = append(scopes, sc)
		}
		reqs = append(reqs, object{scheme: scopes})
	}
	return reqs
}

// access returns the "x-authkit-access" extension of a protected operation:
// its role and scope fields that are not empty.
func (op *Operation) access() object {
	ext := object{}
	for name, list := range map[string][]string{
		"anyRole": op.AnyRole, "allRoles": op.AllRoles, "anyScope": op.AnyScope, "allScopes": op.AllScopes,
	} {
		if len(list) > 0 {
			ext[name] = stringsToAny(list)
		}
	}
	return ext
}

// accessSentence says in words what roles and scopes op requires, or ""
// when it requires none.
func (op *Operation) accessSentence() string {
	var parts []string
	quoted := func(list []string) string {
		q := make([]string, len(list))
		for i, s := range list {
			q[i] = strconv.Quote(s)
		}
		return strings.Join(q, ", ")
	}
	if len(op.AnyRole) == 1 {
		parts = append(parts, "the role "+quoted(op.AnyRole))
	} else if len(op.AnyRole) > 1 {
		parts = append(parts, "one of the roles "+quoted(op.AnyRole))
	}
	if len(op.AllRoles) > 0 {
		parts = append(parts, "all of the roles "+quoted(op.AllRoles))
	}
	if len(op.AnyScope) > 0 {
		parts = append(parts, "a token with one of the scopes "+quoted(op.AnyScope))
	}
	if len(op.AllScopes) > 0 {
		parts = append(parts, "a token with all of the scopes "+quoted(op.AllScopes))
	}
	if len(parts) == 0 {
		return ""
	}
	return "Requires " + strings.Join(parts, " and ") + "; anyone else gets 403 insufficient_scope."
}

// restricted reports whether op has an rbac check, and so a 403 answer.
func (op *Operation) restricted() bool {
	return len(op.AnyRole)+len(op.AllRoles)+len(op.AnyScope)+len(op.AllScopes) > 0
}

// object renders op as an OpenAPI Operation Object, with the security of
// scheme and its error answers.
func (op *Operation) object(scheme string) object {
	o := object{}
	if op.ID != "" {
		o["operationId"] = op.ID
	}
	if op.Summary != "" {
		o["summary"] = op.Summary
	}
	desc := op.Description
	if s := op.accessSentence(); s != "" {
		if desc != "" {
			desc += "\n\n"
		}
		desc += s
	}
	if desc != "" {
		o["description"] = desc
	}
	if len(op.Tags) > 0 {
		o["tags"] = stringsToAny(op.Tags)
	}
	if len(op.Parameters) > 0 {
		params := make([]any, 0, len(op.Parameters))
		for _, p := range op.Parameters {
			po := object{"name": p.Name, "in": p.In, "schema": schemaOrString(p.Schema)}
			if p.Description != "" {
				po["description"] = p.Description
			}
			if p.Required || p.In == "path" {
				po["required"] = true
			}
			params = append(params, po)
		}
		o["parameters"] = params
	}
	if op.Request != nil {
		rb := object{"content": op.Request.content()}
		if op.Request.Description != "" {
			rb["description"] = op.Request.Description
		}
		if op.Request.Required {
			rb["required"] = true
		}
		o["requestBody"] = rb
	}
	o["responses"] = op.responses()
	o["security"] = op.security(scheme)
	if op.restricted() {
		o[accessExtensionName] = op.access()
	}
	return o
}

// responses renders op's answers and the error answers it lacks.
func (op *Operation) responses() object {
	rs := object{}
	for _, r := range op.Responses {
		rs[strconv.Itoa(r.Status)] = r.object()
	}
	if len(op.Responses) == 0 {
		rs["200"] = object{"description": http.StatusText(http.StatusOK)}
	}
	for status, ref := range op.errorResponses() {
		if _, ok := rs[status]; !ok {
			rs[status] = ref
		}
	}
	return rs
}

// errorResponses returns the answers that authentication and the rbac
// checks add to op, by status.
func (op *Operation) errorResponses() map[string]object {
	if op.Public {
		return nil
	}
	m := map[string]object{
		"400": componentRef("responses", bearerBadRequest),
		"401": componentRef("responses", bearerUnauthorized),
	}
	if op.restricted() {
		m["403"] = componentRef("responses", bearerForbidden)
	}
	return m
}

// object renders r as an OpenAPI Response Object.
func (r Response) object() object {
	if r.component != "" {
		return componentRef("responses", r.component)
	}
	desc := r.Description
	if desc == "" {
		desc = http.StatusText(r.Status)
	}
	o := object{"description": desc}
	if len(r.Headers) > 0 {
		hs := object{}
		for _, h := range r.Headers {
			ho := object{"schema": schemaOrString(h.Schema)}
			if h.Description != "" {
				ho["description"] = h.Description
			}
			if h.Required {
				ho["required"] = true
			}
			hs[h.Name] = ho
		}
		o["headers"] = hs
	}
	if r.Body != nil {
		o["content"] = r.Body.content()
	}
	return o
}

// content renders b as an OpenAPI content map.
func (b *Body) content() object {
	ct := b.ContentType
	if ct == "" {
		ct = "application/json"
	}
	mt := object{"schema": json.RawMessage(b.Schema)}
	if b.Example != nil {
		mt["example"] = json.RawMessage(b.Example)
	}
	return object{ct: mt}
}

// schemaOrString returns raw, or the schema of a string when raw is nil.
func schemaOrString(raw json.RawMessage) any {
	if raw == nil {
		return object{"type": "string"}
	}
	return raw
}

// stringsToAny returns list as a JSON array that is never null.
func stringsToAny(list []string) []any {
	a := make([]any, len(list))
	for i, s := range list {
		a[i] = s
	}
	return a
}
