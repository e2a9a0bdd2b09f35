package openapi_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/authkit-go/authkit/oauth2pw/openapi"
)

// validate loads doc with kin-openapi, an independent implementation of
// the specification, and validates it, examples included.
func validate(t *testing.T, doc []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	spec, err := loader.LoadFromData(doc)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, doc)
	}
	if err := spec.Validate(t.Context(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("validate: %v\n%s", err, doc)
	}
	return spec
}

// decodeDoc decodes doc into generic JSON.
func decodeDoc(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

// at follows keys into v.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not an object", strings.Join(keys[:i], "."))
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("%s: missing", strings.Join(keys[:i+1], "."))
		}
	}
	return v
}

func scheme() openapi.Scheme {
	return openapi.Scheme{
		TokenURL: "/token",
		Scopes:   map[string]string{"read": "Read", "write": "Write"},
	}
}

func TestBuildIsValidOpenAPI31(t *testing.T) {
	t.Parallel()
	s := scheme()
	s.RefreshURL = "/token"
	doc, err := openapi.Build(openapi.Document{
		Title:   "t",
		Servers: []string{"https://api.example.com"},
		Scheme:  s,
		Operations: []openapi.Operation{
			openapi.TokenEndpoint("/token", s),
			{Method: "GET", Path: "/me", Responses: []openapi.Response{{Status: 200, Body: &openapi.Body{
				Schema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}}}`), Example: json.RawMessage(`{"id":"1"}`),
			}}}},
			{Method: "DELETE", Path: "/items/{id}", AllScopes: []string{"write"}, AnyRole: []string{"admin"},
				Parameters: []openapi.Parameter{{Name: "id", In: "path"}}},
		},
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	spec := validate(t, doc)
	if !spec.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1", spec.OpenAPI)
	}
	ss := spec.Components.SecuritySchemes[openapi.DefaultSchemeName].Value
	if ss.Type != "oauth2" || ss.Flows.Password == nil {
		t.Fatalf("security scheme = %+v, want oauth2 with the password flow", ss)
	}
	if got, want := ss.Flows.Password.TokenURL, "/token"; got != want {
		t.Errorf("tokenUrl = %q, want %q", got, want)
	}
	if got, want := ss.Flows.Password.RefreshURL, "/token"; got != want {
		t.Errorf("refreshUrl = %q, want %q", got, want)
	}
	if got, want := len(ss.Flows.Password.Scopes), 2; got != want {
		t.Errorf("scopes: %d, want %d", got, want)
	}

	tok := spec.Paths.Find("/token").Post
	form := tok.RequestBody.Value.Content.Get("application/x-www-form-urlencoded")
	if form == nil {
		t.Fatal("POST /token: no form body")
	}
	for _, p := range []string{"grant_type", "username", "password", "scope", "client_id", "client_secret", "refresh_token"} {
		if form.Schema.Value.Properties[p] == nil {
			t.Errorf("POST /token: form has no %s", p)
		}
	}
	if got := len(*tok.Security); got != 0 {
		t.Errorf("POST /token: %d security requirements, want none", got)
	}
	for status, header := range map[int]string{400: "Cache-Control", 401: "WWW-Authenticate", 429: "Retry-After", 503: "Retry-After"} {
		r := tok.Responses.Status(status)
		if r == nil || r.Value.Headers[header] == nil {
			t.Errorf("POST /token: %d lacks header %s", status, header)
		}
	}

	del := spec.Paths.Find("/items/{id}").Delete
	for status, header := range map[int]string{400: "WWW-Authenticate", 401: "WWW-Authenticate", 403: "WWW-Authenticate"} {
		r := del.Responses.Status(status)
		if r == nil || r.Value.Headers[header] == nil {
			t.Errorf("DELETE /items/{id}: %d lacks header %s", status, header)
		}
	}
	if del.Responses.Status(403).Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/OAuth2Error" {
		t.Error("DELETE /items/{id}: 403 body is not the OAuth2Error schema")
	}
	if me := spec.Paths.Find("/me").Get; me.Responses.Status(403) != nil {
		t.Error("GET /me: 403 documented for an operation that checks no role or scope")
	}
}

func TestSecurity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		op         openapi.Operation
		want       string // the security requirements, as JSON
		wantAccess string // the x-authkit-access extension, as JSON; empty: none
	}{
		{"public", openapi.Operation{Public: true}, `[]`, ""},
		{"any token", openapi.Operation{}, `[{"OAuth2PasswordBearer":[]}]`, ""},
		{"role", openapi.Operation{AnyRole: []string{"admin"}}, `[{"OAuth2PasswordBearer":[]}]`, `{"anyRole":["admin"]}`},
		{"all roles", openapi.Operation{AllRoles: []string{"a", "b"}}, `[{"OAuth2PasswordBearer":[]}]`, `{"allRoles":["a","b"]}`},
		{"all scopes", openapi.Operation{AllScopes: []string{"read", "write"}}, `[{"OAuth2PasswordBearer":["read","write"]}]`, `{"allScopes":["read","write"]}`},
		{"any scope", openapi.Operation{AnyScope: []string{"read", "write"}}, `[{"OAuth2PasswordBearer":["read"]},{"OAuth2PasswordBearer":["write"]}]`, `{"anyScope":["read","write"]}`},
		{"any and all", openapi.Operation{AnyScope: []string{"read", "write"}, AllScopes: []string{"read"}},
			`[{"OAuth2PasswordBearer":["read"]},{"OAuth2PasswordBearer":["read","write"]}]`, `{"allScopes":["read"],"anyScope":["read","write"]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.op.Method, tc.op.Path = "GET", "/x"
			doc, err := openapi.Build(openapi.Document{Scheme: scheme(), Operations: []openapi.Operation{tc.op}})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			validate(t, doc)
			op := at(t, decodeDoc(t, doc), "paths", "/x", "get").(map[string]any)
			got, _ := json.Marshal(op["security"])
			if string(got) != tc.want {
				t.Errorf("security = %s, want %s", got, tc.want)
			}
			access, ok := op["x-authkit-access"]
			switch {
			case tc.wantAccess == "" && ok:
				t.Errorf("x-authkit-access = %v, want none", access)
			case tc.wantAccess != "":
				got, _ := json.Marshal(access)
				if string(got) != tc.wantAccess {
					t.Errorf("x-authkit-access = %s, want %s", got, tc.wantAccess)
				}
				if d, _ := op["description"].(string); !strings.Contains(d, "403 insufficient_scope") {
					t.Errorf("description = %q, want the access sentence", d)
				}
			}
			_, has403 := at(t, op, "responses").(map[string]any)["403"]
			if want := tc.wantAccess != ""; has403 != want {
				t.Errorf("403 documented: %v, want %v", has403, want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	ok := openapi.Operation{Method: "GET", Path: "/x"}
	with := func(f func(d *openapi.Document)) openapi.Document {
		d := openapi.Document{Scheme: scheme(), Operations: []openapi.Operation{ok}}
		f(&d)
		return d
	}
	tests := []struct {
		name string
		doc  openapi.Document
		want string
	}{
		{"no token URL", with(func(d *openapi.Document) { d.Scheme.TokenURL = "" }), "TokenURL is required"},
		{"token URL with a space", with(func(d *openapi.Document) { d.Scheme.TokenURL = "/to ken" }), "white space"},
		{"bad scheme name", with(func(d *openapi.Document) { d.Scheme.Name = "a b" }), "Scheme.Name"},
		{"bad scope", with(func(d *openapi.Document) { d.Scheme.Scopes = map[string]string{`a"b`: ""} }), "scope-token"},
		{"unknown method", with(func(d *openapi.Document) { d.Operations[0].Method = "FETCH" }), "unknown method"},
		{"relative path", with(func(d *openapi.Document) { d.Operations[0].Path = "x" }), "must start with '/'"},
		{"twice", with(func(d *openapi.Document) { d.Operations = append(d.Operations, ok) }), "listed twice"},
		{"public with a role", with(func(d *openapi.Document) { d.Operations[0].Public, d.Operations[0].AnyRole = true, []string{"a"} }), "Public"},
		{"undeclared scope", with(func(d *openapi.Document) { d.Operations[0].AllScopes = []string{"admin"} }), "not one of the Scheme's"},
		{"empty role", with(func(d *openapi.Document) { d.Operations[0].AllRoles = []string{""} }), "empty role"},
		{"bad schema", with(func(d *openapi.Document) {
			d.Operations[0].Responses = []openapi.Response{{Status: 200, Body: &openapi.Body{Schema: json.RawMessage(`{`)}}}
		}), "not valid JSON"},
		{"body without schema", with(func(d *openapi.Document) { d.Operations[0].Request = &openapi.Body{} }), "without a schema"},
		{"status twice", with(func(d *openapi.Document) {
			d.Operations[0].Responses = []openapi.Response{{Status: 200}, {Status: 200}}
		}), "twice"},
		{"bad status", with(func(d *openapi.Document) { d.Operations[0].Responses = []openapi.Response{{Status: 99}} }), "status 99"},
		{"bad parameter", with(func(d *openapi.Document) { d.Operations[0].Parameters = []openapi.Parameter{{Name: "a", In: "body"}} }), "parameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := openapi.Build(tc.doc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build: error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// generated stands for a document that another tool generated: OpenAPI
// 3.0, a document-wide security requirement of its own, an operation that
// authkit protects and one that it does not know.
const generated = `{
  "openapi": "3.0.3",
  "info": {"title": "generated", "version": "2.5"},
  "security": [{"apiKey": []}],
  "paths": {
    "/items": {"get": {"operationId": "listItems", "responses": {"200": {"description": "The items.",
      "content": {"application/json": {"schema": {"type": "array", "items": {"type": "integer", "maximum": 12345678901234567890}}}}}}}},
    "/other": {"get": {"responses": {"200": {"description": "Not ours."}}}}
  },
  "components": {
    "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-Key"}},
    "schemas": {"Item": {"type": "integer"}}
  }
}`

func TestMerge(t *testing.T) {
	t.Parallel()
	s := scheme()
	out, err := openapi.Merge([]byte(generated), s, []openapi.Operation{
		openapi.TokenEndpoint("/token", s),
		{Method: "GET", Path: "/items", AnyScope: []string{"read"}},
		{Method: "POST", Path: "/items", AllScopes: []string{"write"}},
	})
	if err != nil {
		t.Fatalf("Merge: %v", err)
	}
	spec := validate(t, out)
	if spec.OpenAPI != "3.0.3" || spec.Info.Version != "2.5" {
		t.Errorf("openapi %q, version %q: want the generated document's", spec.OpenAPI, spec.Info.Version)
	}
	for _, name := range []string{"apiKey", openapi.DefaultSchemeName} {
		if spec.Components.SecuritySchemes[name] == nil {
			t.Errorf("security scheme %s missing", name)
		}
	}
	if spec.Components.Schemas["Item"] == nil || spec.Components.Schemas["OAuth2Error"] == nil {
		t.Error("components.schemas: want Item and OAuth2Error")
	}
	get := spec.Paths.Find("/items").Get
	if get.OperationID != "listItems" || get.Responses.Status(200).Value.Description == nil || *get.Responses.Status(200).Value.Description != "The items." {
		t.Errorf("GET /items: the generated operation was not kept: %+v", get)
	}
	want := openapi3.SecurityRequirements{{openapi.DefaultSchemeName: {"read"}}}
	if !reflect.DeepEqual(*get.Security, want) {
		t.Errorf("GET /items: security = %v, want %v", *get.Security, want)
	}
	for _, status := range []int{400, 401, 403} {
		if get.Responses.Status(status) == nil {
			t.Errorf("GET /items: no %d answer", status)
		}
	}
	if post := spec.Paths.Find("/items").Post; post == nil || post.Responses.Status(403) == nil {
		t.Error("POST /items: not added with its 403 answer")
	}
	if spec.Paths.Find("/token").Post == nil {
		t.Error("POST /token: not added")
	}
	if other := spec.Paths.Find("/other").Get; other.Security != nil {
		t.Errorf("GET /other: security = %v, want the document's own", other.Security)
	}
	if !strings.Contains(string(out), "12345678901234567890") {
		t.Error("a number lost its spelling")
	}

	again, err := openapi.Merge(out, s, nil)
	if err != nil {
		t.Fatalf("Merge of a merged document: %v", err)
	}
	if string(again) != string(out) {
		t.Error("Merge of a merged document changed it")
	}
}

func TestMergeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, spec, want string
	}{
		{"not JSON", `{`, "not a JSON object"},
		{"array", `[]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"trailing data", `{"openapi":"3.1.0"} {}`, "data after"},
		{"swagger 2", `{"swagger":"2.0"}`, "want an OpenAPI 3 document"},
		{"paths not an object", `{"openapi":"3.1.0","paths":[]}`, `"paths" is not an object`},
		{"component differs", `{"openapi":"3.1.0","components":{"schemas":{"OAuth2Error":{"type":"string"}}}}`, "differs"},
		{"section not an object", `{"openapi":"3.1.0","components":{"responses":7}}`, "components.responses is not an object"},
		{"path item not an object", `{"openapi":"3.1.0","paths":{"/x":1}}`, `paths["/x"]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := openapi.Merge([]byte(tc.spec), scheme(), []openapi.Operation{{Method: http.MethodGet, Path: "/x"}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Merge: error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
