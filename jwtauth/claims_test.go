package jwtauth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
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
