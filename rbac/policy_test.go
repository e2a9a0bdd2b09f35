package rbac_test

import (
	"net/http"
	"testing"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/rbac"
)

// testPermissions and testInherits define admin ⊇ editor ⊇ user, and a
// separate auditor.
func testPermissions() map[string][]string {
	return map[string][]string{
		"user":    {"profile:read", "profile:write"},
		"editor":  {"posts:write"},
		"admin":   {"users:list", "users:write"},
		"auditor": {"users:list"},
	}
}

func testInherits() map[string][]string {
	return map[string][]string{
		"admin":  {"editor"},
		"editor": {"user"},
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	p, err := rbac.NewPolicy(testPermissions(), testInherits())
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	tests := []struct {
		name      string
		mw        func(http.Handler) http.Handler
		principal *jwtauth.Principal
		want      want
	}{
		{"RequireAny: own role", p.RequireAny("user"), roles("user"), allowed},
		{"RequireAny: included role", p.RequireAny("user"), roles("admin"), allowed},
		{"RequireAny: included transitively", p.RequireAny("user"), roles("admin"), allowed},
		{"RequireAny: including role is not included", p.RequireAny("admin"), roles("editor"), noRole},
		{"RequireAny: unrelated role", p.RequireAny("editor"), roles("auditor"), noRole},
		{"RequireAny: role the policy does not define", p.RequireAny("guest"), roles("guest"), allowed},
		{"RequireAny: no principal", p.RequireAny("user"), nil, noPrincipal},
		{"RequireAll: via inclusion", p.RequireAll("user", "editor"), roles("editor"), allowed},
		{"RequireAll: two roles", p.RequireAll("admin", "auditor"), roles("auditor", "admin"), allowed},
		{"RequireAll: one short", p.RequireAll("admin", "auditor"), roles("admin"), noRole},
		{"RequireAllPermissions: own", p.RequireAllPermissions("profile:read"), roles("user"), allowed},
		{"RequireAllPermissions: inherited", p.RequireAllPermissions("profile:read"), roles("admin"), allowed},
		{"RequireAllPermissions: all of them", p.RequireAllPermissions("users:list", "posts:write"), roles("admin"), allowed},
		{"RequireAllPermissions: across roles", p.RequireAllPermissions("users:list", "posts:write"), roles("auditor", "editor"), allowed},
		{"RequireAllPermissions: one missing", p.RequireAllPermissions("users:list", "posts:write"), roles("editor"), noRole},
		{"RequireAllPermissions: not inherited upwards", p.RequireAllPermissions("users:list"), roles("editor"), noRole},
		{"RequireAllPermissions: undefined role", p.RequireAllPermissions("profile:read"), roles("guest"), noRole},
		{"RequireAllPermissions: no roles", p.RequireAllPermissions("profile:read"), roles(), noRole},
		{"RequireAllPermissions: no principal", p.RequireAllPermissions("profile:read"), nil, noPrincipal},
		{"RequireAllScopes", p.RequireAllScopes("read", "write"), scopes("read"), noScope},
		{"RequireAnyScope", p.RequireAnyScope("read", "write"), scopes("write"), allowed},
		{"RequireAnyScope: a role is no scope", p.RequireAnyScope("read", "write"), roles("admin"), noScope},
		{"misuse: RequireAllPermissions()", p.RequireAllPermissions(), roles("admin"), misuse},
		{"misuse: unknown permission", p.RequireAllPermissions("users:lst"), roles("admin"), misuse},
		{"misuse: empty permission", p.RequireAllPermissions("profile:read", ""), roles("admin"), misuse},
		{"misuse: RequireAny()", p.RequireAny(), roles("admin"), misuse},
		{"misuse: RequireAll()", p.RequireAll(), roles("admin"), misuse},
		{"misuse: RequireAllScopes()", p.RequireAllScopes(), scopes("read"), misuse},
		{"misuse: RequireAnyScope()", p.RequireAnyScope(), scopes("read"), misuse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkAnswer(t, serve(tc.mw, tc.principal), tc.want)
		})
	}
}

func TestNilPolicy(t *testing.T) {
	t.Parallel()
	var p *rbac.Policy
	checkAnswer(t, serve(p.RequireAny("admin"), roles("admin")), allowed)
	checkAnswer(t, serve(p.RequireAllPermissions("users:list"), roles("admin")), misuse)
	if p.Permits(roles("admin"), "users:list") {
		t.Errorf("nil Policy: Permits = true, want false")
	}
}

func TestNewPolicyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		permissions map[string][]string
		inherits    map[string][]string
	}{
		{"includes itself", nil, map[string][]string{"admin": {"admin"}}},
		{"two-role cycle", nil, map[string][]string{"a": {"b"}, "b": {"a"}}},
		{"long cycle", map[string][]string{"d": {"p"}}, map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"d", "a"}, "d": nil}},
		{"cycle away from the roots", nil, map[string][]string{"root": {"x"}, "x": {"y"}, "y": {"x"}}},
		{"undefined included role", map[string][]string{"admin": {"p"}}, map[string][]string{"admin": {"usr"}}},
		{"empty included role", map[string][]string{"admin": {"p"}}, map[string][]string{"admin": {""}}},
		{"empty role", map[string][]string{"": {"p"}}, nil},
		{"empty role in inherits", nil, map[string][]string{"": nil}},
		{"empty permission", map[string][]string{"admin": {"p", ""}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := rbac.NewPolicy(tc.permissions, tc.inherits)
			if err == nil || p != nil {
				t.Errorf("NewPolicy = %v, %v; want nil and an error", p, err)
			}
		})
	}
}

func TestNewPolicyValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		permissions map[string][]string
		inherits    map[string][]string
		holder      string
		perms       []string
	}{
		{"nil maps", nil, nil, "admin", nil},
		{"diamond", map[string][]string{"base": {"p"}, "l": {"lp"}, "r": {"rp"}},
			map[string][]string{"top": {"l", "r"}, "l": {"base"}, "r": {"base"}}, "top", []string{"p", "lp", "rp"}},
		{"role defined only by inherits", map[string][]string{"user": {"p"}},
			map[string][]string{"admin": {"user"}}, "admin", []string{"p"}},
		{"role with no permissions", map[string][]string{"user": nil, "admin": {"q"}},
			map[string][]string{"admin": {"user"}}, "admin", []string{"q"}},
		{"repeated inclusion", map[string][]string{"user": {"p"}},
			map[string][]string{"admin": {"user", "user"}}, "admin", []string{"p"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := rbac.NewPolicy(tc.permissions, tc.inherits)
			if err != nil {
				t.Fatalf("NewPolicy: %v", err)
			}
			if len(tc.perms) > 0 && !p.Permits(roles(tc.holder), tc.perms...) {
				t.Errorf("Permits(%q, %q) = false, want true", tc.holder, tc.perms)
			}
		})
	}
}

func TestNewPolicyCopiesMaps(t *testing.T) {
	t.Parallel()
	perms, inh := testPermissions(), testInherits()
	p, err := rbac.NewPolicy(perms, inh)
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	perms["user"][0] = "users:write"
	perms["guest"] = []string{"users:write"}
	inh["user"] = []string{"admin"}
	if !p.Permits(roles("user"), "profile:read") {
		t.Errorf("Permits(user, profile:read) = false after the caller changed its map, want true")
	}
	for _, r := range []string{"user", "guest"} {
		if p.Permits(roles(r), "users:write") {
			t.Errorf("Permits(%s, users:write) = true after the caller changed its map, want false", r)
		}
	}
}

func TestPermits(t *testing.T) {
	t.Parallel()
	p, err := rbac.NewPolicy(testPermissions(), testInherits())
	if err != nil {
		t.Fatalf("NewPolicy: %v", err)
	}
	tests := []struct {
		name      string
		principal *jwtauth.Principal
		perms     []string
		want      bool
	}{
		{"own", roles("user"), []string{"profile:read"}, true},
		{"inherited twice", roles("admin"), []string{"profile:write"}, true},
		{"several", roles("admin"), []string{"users:list", "posts:write", "profile:read"}, true},
		{"across roles", roles("auditor", "user"), []string{"users:list", "profile:read"}, true},
		{"missing", roles("editor"), []string{"users:list"}, false},
		{"one missing", roles("editor"), []string{"posts:write", "users:list"}, false},
		{"unknown permission", roles("admin"), []string{"nope"}, false},
		{"undefined role", roles("guest"), []string{"profile:read"}, false},
		{"no perms asked", roles("admin"), nil, false},
		{"nil principal", nil, []string{"profile:read"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := p.Permits(tc.principal, tc.perms...); got != tc.want {
				t.Errorf("Permits(%v, %q) = %t, want %t", tc.principal, tc.perms, got, tc.want)
			}
		})
	}
}
