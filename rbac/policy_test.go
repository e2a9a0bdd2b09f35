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
		{"Require: own role", p.Require("user"), roles("user"), allowed},
		{"Require: included role", p.Require("user"), roles("admin"), allowed},
		{"Require: included transitively", p.Require("user"), roles("admin"), allowed},
		{"Require: including role is not included", p.Require("admin"), roles("editor"), noRole},
		{"Require: unrelated role", p.Require("editor"), roles("auditor"), noRole},
		{"Require: role the policy does not define", p.Require("guest"), roles("guest"), allowed},
		{"Require: no principal", p.Require("user"), nil, noPrincipal},
		{"RequireAll: via inclusion", p.RequireAll("user", "editor"), roles("editor"), allowed},
		{"RequireAll: two roles", p.RequireAll("admin", "auditor"), roles("auditor", "admin"), allowed},
		{"RequireAll: one short", p.RequireAll("admin", "auditor"), roles("admin"), noRole},
		{"RequirePermission: own", p.RequirePermission("profile:read"), roles("user"), allowed},
		{"RequirePermission: inherited", p.RequirePermission("profile:read"), roles("admin"), allowed},
		{"RequirePermission: all of them", p.RequirePermission("users:list", "posts:write"), roles("admin"), allowed},
		{"RequirePermission: across roles", p.RequirePermission("users:list", "posts:write"), roles("auditor", "editor"), allowed},
		{"RequirePermission: one missing", p.RequirePermission("users:list", "posts:write"), roles("editor"), noRole},
		{"RequirePermission: not inherited upwards", p.RequirePermission("users:list"), roles("editor"), noRole},
		{"RequirePermission: undefined role", p.RequirePermission("profile:read"), roles("guest"), noRole},
		{"RequirePermission: no roles", p.RequirePermission("profile:read"), roles(), noRole},
		{"RequirePermission: no principal", p.RequirePermission("profile:read"), nil, noPrincipal},
		{"RequireScope", p.RequireScope("read", "write"), scopes("read"), noScope},
		{"misuse: RequirePermission()", p.RequirePermission(), roles("admin"), misuse},
		{"misuse: unknown permission", p.RequirePermission("users:lst"), roles("admin"), misuse},
		{"misuse: empty permission", p.RequirePermission("profile:read", ""), roles("admin"), misuse},
		{"misuse: Require()", p.Require(), roles("admin"), misuse},
		{"misuse: RequireAll()", p.RequireAll(), roles("admin"), misuse},
		{"misuse: RequireScope()", p.RequireScope(), scopes("read"), misuse},
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
	checkAnswer(t, serve(p.Require("admin"), roles("admin")), allowed)
	checkAnswer(t, serve(p.RequirePermission("users:list"), roles("admin")), misuse)
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
