package openapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/authkit-go/authkit/oauth2pw/openapi"
)

// ExampleBuild documents a small API: the token endpoint, a route for any
// valid token and one for admins.
func ExampleBuild() {
	s := openapi.Scheme{TokenURL: "/token", Scopes: map[string]string{"admin": "Administration"}}
	doc, err := openapi.Build(openapi.Document{
		Title:  "Example",
		Scheme: s,
		Operations: []openapi.Operation{
			openapi.TokenEndpoint("/token", s),
			{Method: http.MethodGet, Path: "/api/me"},
			{Method: http.MethodGet, Path: "/api/admin/users", AnyRole: []string{"admin"}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var d struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security  []map[string][]string      `json:"security"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	json.Unmarshal(doc, &d)
	fmt.Println("openapi", d.OpenAPI)
	for _, p := range []string{"/token", "/api/me", "/api/admin/users"} {
		for method, op := range d.Paths[p] {
			_, has403 := op.Responses["403"]
			fmt.Println(method, p, "security:", op.Security, "403:", has403)
		}
	}
	// Output:
	// openapi 3.1.0
	// post /token security: [] 403: false
	// get /api/me security: [map[OAuth2PasswordBearer:[]]] 403: false
	// get /api/admin/users security: [map[OAuth2PasswordBearer:[]]] 403: true
}

// ExampleMerge adds authkit's security to a document that another tool
// generated.
func ExampleMerge() {
	generated := []byte(`{"openapi": "3.1.0", "info": {"title": "Items", "version": "2"},
		"paths": {"/items": {"get": {"responses": {"200": {"description": "The items."}}}}}}`)
	s := openapi.Scheme{TokenURL: "https://auth.example.com/token"}
	doc, err := openapi.Merge(generated, s, []openapi.Operation{
		{Method: http.MethodGet, Path: "/items"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var d struct {
		Paths map[string]map[string]struct {
			Security  []map[string][]string      `json:"security"`
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	json.Unmarshal(doc, &d)
	op := d.Paths["/items"]["get"]
	fmt.Println("security:", op.Security)
	fmt.Println("answers:", len(op.Responses))
	// Output:
	// security: [map[OAuth2PasswordBearer:[]]]
	// answers: 3
}
