package jwtauth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTokenFormatRedactsRaw: no fmt verb or flag prints the token itself,
// whether the Token is formatted by value, by pointer or inside another
// value.
func TestTokenFormatRedactsRaw(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	tok, err := e.jwt.Issue(context.Background(), Claims{Subject: "alice", ClientID: testClient})
	if err != nil {
		t.Fatal(err)
	}
	// Every segment of the token, and its signing input, must stay out.
	secrets := append(strings.Split(tok.Raw, "."), tok.Raw)
	type wrapper struct{ T Token }
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10.3v", "%-v"} {
		for _, arg := range []struct {
			name string
			v    any
		}{{"Token", tok}, {"*Token", &tok}, {"struct holding a Token", wrapper{tok}}, {"[]Token", []Token{tok}}} {
			t.Run(verb+" "+arg.name, func(t *testing.T) {
				got := fmt.Sprintf(verb, arg.v)
				for _, s := range secrets {
					if strings.Contains(got, s) {
						t.Fatalf("Sprintf(%q, %s) = %q, which contains the token", verb, arg.name, got)
					}
				}
				if !strings.ContainsAny(verb, "xX.") && !strings.Contains(got, redacted) { // hex and precision hide the marker
					t.Errorf("Sprintf(%q, %s) = %q, want the %s marker", verb, arg.name, got, redacted)
				}
			})
		}
	}
	for name, got := range map[string]string{"String": tok.String(), "GoString": tok.GoString(), "Sprint": fmt.Sprint(tok), "Sprintln": fmt.Sprintln(&tok)} {
		if strings.Contains(got, tok.Raw) || !strings.Contains(got, redacted) {
			t.Errorf("%s = %q, want Raw redacted", name, got)
		}
	}
	// The rest of the token still prints, for debugging.
	if got := fmt.Sprintf("%+v", tok); !strings.Contains(got, "Subject:alice") || !strings.Contains(got, "ClientID:"+testClient) {
		t.Errorf("Sprintf(%%+v) = %q, want the claims", got)
	}
	if got := fmt.Sprintf("%#v", tok); !strings.HasPrefix(got, `jwtauth.Token{Raw:"[REDACTED]", Claims:jwtauth.Claims{`) {
		t.Errorf("Sprintf(%%#v) = %q, want a jwtauth.Token literal", got)
	}
	if got := fmt.Sprintf("%v", Token{}); strings.Contains(got, redacted) {
		t.Errorf("Sprintf(%%v, Token{}) = %q: an empty Raw has nothing to redact", got)
	}
	if got := fmt.Sprintf("%v", (*Token)(nil)); got != "<nil>" {
		t.Errorf("Sprintf(%%v, nil *Token) = %q, want <nil>", got)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("issued", "token", tok, "ptr", &tok)
	if strings.Contains(buf.String(), tok.Raw) {
		t.Errorf("slog output %q contains the token", buf.String())
	}
}

func TestClaimHelpers(t *testing.T) {
	t.Parallel()
	var c Claims
	if err := SetClaim(&c, "roles", []string{"x"}); err == nil {
		t.Error("SetClaim(roles): error = nil, want error")
	}
	if err := SetClaim(&c, "", 1); err == nil {
		t.Error(`SetClaim(""): error = nil, want error`)
	}
	if err := SetClaim(&c, "n", 42); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := ClaimAs[int](&c, "n"); v != 42 || !ok || err != nil {
		t.Errorf("ClaimAs[int](n) = %v, %v, %v; want 42, true, nil", v, ok, err)
	}
	if _, ok, err := ClaimAs[int](&c, "missing"); ok || err != nil {
		t.Errorf("ClaimAs(missing) = _, %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := ClaimAs[string](&c, "n"); !ok || err == nil {
		t.Errorf("ClaimAs[string](n) = _, %v, %v; want true, error", ok, err)
	}
}

// TestEncodeClaims pins the wire form of issued claims: registered claims
// in a fixed order, absent ones left out, one audience as a string, Extra
// members sorted by name and compacted, the same bytes on every call, and
// the strict reader reading back what was written.
func TestEncodeClaims(t *testing.T) {
	t.Parallel()
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	tests := []struct {
		name string
		c    Claims
		want string
	}{
		{
			"all registered claims and Extra",
			Claims{
				Issuer: "i", Subject: "s", Audience: []string{"a"}, ExpiresAt: at(3), NotBefore: at(2), IssuedAt: at(1),
				ID: "j", ClientID: "c", Scope: []string{"read", "write"}, Roles: []string{"admin", "user"},
				Extra: map[string]json.RawMessage{"z": json.RawMessage(`true`), "tenant": json.RawMessage(` { "id" : [1, 2] } `)},
			},
			`{"iss":"i","sub":"s","aud":"a","exp":3,"nbf":2,"iat":1,"jti":"j","client_id":"c","scope":"read write","roles":["admin","user"],"tenant":{"id":[1,2]},"z":true}`,
		},
		{
			"several audiences, nothing optional",
			Claims{Subject: "s", Audience: []string{"a", "b"}, ExpiresAt: at(3), IssuedAt: at(1)},
			`{"sub":"s","aud":["a","b"],"exp":3,"iat":1}`,
		},
		{
			"empty lists are left out",
			Claims{Subject: "s", Audience: []string{}, Scope: []string{}, Roles: []string{}, Extra: map[string]json.RawMessage{}},
			`{"sub":"s"}`,
		},
		{
			"escaping",
			Claims{Subject: "a\"b\\c<d>&\u2028\x01ö", Extra: map[string]json.RawMessage{"<n>": json.RawMessage(`"<v>"`)}},
			`{"sub":"a\"b\\c\u003cd\u003e\u0026\u2028\u0001ö","\u003cn\u003e":"\u003cv\u003e"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := encodeClaims(&tc.c)
			if err != nil {
				t.Fatalf("encodeClaims: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("encodeClaims =\n%s\nwant\n%s", got, tc.want)
			}
			for range 3 {
				if again, _ := encodeClaims(&tc.c); string(again) != string(got) {
					t.Fatalf("encodeClaims again = %s, want %s", again, got)
				}
			}
			back, err := decodeClaims(got)
			if err != nil {
				t.Fatalf("decodeClaims(encodeClaims) error: %v", err)
			}
			if back.Subject != tc.c.Subject || back.Issuer != tc.c.Issuer || back.ID != tc.c.ID || back.ClientID != tc.c.ClientID ||
				!back.ExpiresAt.Equal(tc.c.ExpiresAt) || !back.NotBefore.Equal(tc.c.NotBefore) || !back.IssuedAt.Equal(tc.c.IssuedAt) ||
				!slices.Equal(back.Audience, tc.c.Audience) || !slices.Equal(back.Scope, tc.c.Scope) || !slices.Equal(back.Roles, tc.c.Roles) ||
				len(back.Extra) != len(tc.c.Extra) {
				t.Errorf("decodeClaims(encodeClaims(c)) = %+v, want %+v", back, tc.c)
			}
			for name, v := range tc.c.Extra {
				var want, got any
				json.Unmarshal(v, &want)
				json.Unmarshal(back.Extra[name], &got)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("Extra[%q] read back as %s, want %s", name, back.Extra[name], v)
				}
			}
		})
	}

	refused := []struct {
		name  string
		extra map[string]json.RawMessage
	}{
		{"registered name", map[string]json.RawMessage{"sub": json.RawMessage(`"admin"`)}},
		{"registered name client_id", map[string]json.RawMessage{"client_id": json.RawMessage(`"x"`)}},
		{"empty name", map[string]json.RawMessage{"": json.RawMessage(`1`)}},
		{"name not UTF-8", map[string]json.RawMessage{"a\xff": json.RawMessage(`1`)}},
		{"value not JSON", map[string]json.RawMessage{"x": json.RawMessage(`{`)}},
		{"value empty", map[string]json.RawMessage{"x": nil}},
		{"value not UTF-8", map[string]json.RawMessage{"x": json.RawMessage("\"\xff\"")}},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			if got, err := encodeClaims(&Claims{Subject: "s", Extra: tc.extra}); err == nil {
				t.Errorf("encodeClaims = %s, want error", got)
			}
		})
	}
}
