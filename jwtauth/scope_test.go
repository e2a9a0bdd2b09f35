package jwtauth

import (
	"context"
	"fmt"
	"testing"
)

func TestIsScopeToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"read", true},
		{"api:write", true},
		{"!#$%&'()*+,-./:;<=>?@[]^_`{|}~", true},
		{"", false},
		{"two words", false},
		{`quo"te`, false},
		{`back\slash`, false},
		{"tab\t", false},
		{"del\x7f", false},
		{"café", false},
	} {
		t.Run(tc.s, func(t *testing.T) {
			if got := IsScopeToken(tc.s); got != tc.want {
				t.Errorf("IsScopeToken(%q) = %t, want %t", tc.s, got, tc.want)
			}
		})
	}
}

// TestScopeSplitsOnSpaceOnly: RFC 6749 §3.3 separates scope tokens with
// SP (%x20) alone. Splitting on other white space would read one scope
// value that an issuer granted as a whole ("read\tadmin") as two scopes,
// one of which was never granted.
func TestScopeSplitsOnSpaceOnly(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, -1)
	tests := []struct {
		scope string
		want  []string
	}{
		{`read write`, []string{"read", "write"}},
		{`  read   write `, []string{"read", "write"}},
		{`read\tadmin`, []string{"read\tadmin"}},
		{`read\nadmin`, []string{"read\nadmin"}},
		{`read\u00a0admin`, []string{"read\u00a0admin"}},
		{`read\u2003admin`, []string{"read\u2003admin"}},
		{`read\u0085admin`, []string{"read\u0085admin"}},
		{``, nil},
	}
	for _, tc := range tests {
		t.Run(tc.scope, func(t *testing.T) {
			c, err := e.jwt.Verify(context.Background(), forge(t, e.key, hdr(EdDSA, e.key.ID()), payload(`"scope":"`+tc.scope+`"`)))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", c.Scope) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("Scope = %q, want %q", c.Scope, tc.want)
			}
			if c.HasScope("admin") {
				t.Error(`HasScope("admin") = true for a token that never granted it`)
			}
		})
	}
}
