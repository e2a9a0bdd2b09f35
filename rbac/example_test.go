package rbac_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/rbac"
)

// fakeBearer stands in for jwtauth.Middleware: it authenticates the
// caller named in the X-User header, with the roles users gives.
func fakeBearer(users map[string][]string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if roles, ok := users[r.Header.Get("X-User")]; ok {
				p := &jwtauth.Principal{Subject: r.Header.Get("X-User"), Roles: roles}
				r = r.WithContext(jwtauth.WithPrincipal(r.Context(), p))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func ExampleRequire() {
	listUsers := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"users":[]}`)
	})
	bearer := fakeBearer(map[string][]string{"alice": {"admin"}, "bob": {"user"}})

	mux := http.NewServeMux()
	mux.Handle("GET /api/admin/users", bearer(rbac.Require("admin")(listUsers)))

	for _, user := range []string{"alice", "bob", ""} {
		r := httptest.NewRequest("GET", "/api/admin/users", nil)
		r.Header.Set("X-User", user)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Printf("%q: %d\n", user, w.Code)
		if c := w.Header().Get("WWW-Authenticate"); c != "" {
			fmt.Println("  WWW-Authenticate:", c)
		}
	}
	// Output:
	// "alice": 200
	// "bob": 403
	//   WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required role"
	// "": 401
	//   WWW-Authenticate: Bearer realm="api"
}

func ExampleNewPolicy() {
	policy, err := rbac.NewPolicy(
		map[string][]string{ // role -> the permissions it grants
			"user":  {"profile:read"},
			"admin": {"users:list"},
		},
		map[string][]string{ // role -> the roles it includes
			"admin": {"user"},
		},
		rbac.WithRealm("example"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	profile := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "profile")
	})
	bearer := fakeBearer(map[string][]string{"alice": {"admin"}, "bob": {"user"}})

	mux := http.NewServeMux()
	mux.Handle("GET /profile", bearer(policy.RequireAllPermissions("profile:read")(profile)))
	mux.Handle("GET /users", bearer(policy.RequireAllPermissions("users:list")(profile)))
	mux.Handle("GET /home", bearer(policy.RequireAny("user")(profile)))

	for _, call := range []struct{ user, path string }{
		{"alice", "/profile"}, {"alice", "/users"}, {"alice", "/home"}, {"bob", "/profile"}, {"bob", "/users"},
	} {
		r := httptest.NewRequest("GET", call.path, nil)
		r.Header.Set("X-User", call.user)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(call.user, call.path, w.Code)
	}

	_, err = rbac.NewPolicy(nil, map[string][]string{"admin": {"user"}, "user": {"admin"}})
	fmt.Println(err)
	// Output:
	// alice /profile 200
	// alice /users 200
	// alice /home 200
	// bob /profile 200
	// bob /users 403
	// rbac: role inclusion cycle: admin -> user -> admin
}

func ExampleRequireAllScopes() {
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "orders")
	})
	h := rbac.RequireAllScopes("orders:read", "orders:write")(orders)

	r := httptest.NewRequest("POST", "/orders", nil)
	p := &jwtauth.Principal{Subject: "alice", Scopes: []string{"orders:read"}}
	r = r.WithContext(jwtauth.WithPrincipal(r.Context(), p))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code)
	fmt.Println(w.Header().Get("WWW-Authenticate"))
	fmt.Print(w.Body)
	// Output:
	// 403
	// Bearer realm="api", error="insufficient_scope", error_description="The access token lacks a required scope", scope="orders:read orders:write"
	// {"error":"insufficient_scope","error_description":"The access token lacks a required scope"}
}

func ExampleRequireAnyScope() {
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "orders")
	})
	// Either scope lets the caller read the orders.
	h := rbac.RequireAnyScope("orders:read", "orders:admin")(orders)

	for _, granted := range [][]string{{"orders:read"}, {"orders:admin", "profile"}, {"profile"}} {
		r := httptest.NewRequest("GET", "/orders", nil)
		p := &jwtauth.Principal{Subject: "alice", Scopes: granted}
		r = r.WithContext(jwtauth.WithPrincipal(r.Context(), p))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(granted, w.Code)
	}
	// Output:
	// [orders:read] 200
	// [orders:admin profile] 200
	// [profile] 403
}

func ExampleRequireAll() {
	audit := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "audit log")
	})
	bearer := fakeBearer(map[string][]string{"alice": {"admin", "auditor"}, "bob": {"admin"}})
	h := bearer(rbac.RequireAll("admin", "auditor")(audit))

	for _, user := range []string{"alice", "bob"} {
		r := httptest.NewRequest("GET", "/audit", nil)
		r.Header.Set("X-User", user)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(user, w.Code)
	}
	// Output:
	// alice 200
	// bob 403
}
