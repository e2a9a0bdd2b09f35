package jwtauth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, alg := range []Algorithm{HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, alg, -1)
			in := Claims{Subject: "alice", ClientID: "cli", Scope: []string{"read", "write"}, Roles: []string{"admin", "user"}}
			if err := SetClaim(&in, "tenant", struct{ ID int }{7}); err != nil {
				t.Fatal(err)
			}
			tok, err := e.jwt.Issue(context.Background(), in)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			got, err := e.jwt.Verify(context.Background(), tok.Raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Subject != "alice" || got.Issuer != testIssuer || got.ClientID != "cli" ||
				strings.Join(got.Audience, ",") != testAudience ||
				strings.Join(got.Scope, " ") != "read write" || strings.Join(got.Roles, ",") != "admin,user" {
				t.Errorf("Verify: claims = %+v", got)
			}
			if !got.ExpiresAt.Equal(testT0.Add(defaultTTL)) || !got.IssuedAt.Equal(testT0) {
				t.Errorf("Verify: exp, iat = %v, %v; want %v, %v", got.ExpiresAt, got.IssuedAt, testT0.Add(defaultTTL), testT0)
			}
			if got.ID == "" || got.ID != tok.Claims.ID {
				t.Errorf("Verify: jti = %q, want %q", got.ID, tok.Claims.ID)
			}
			tenant, ok, err := ClaimAs[struct{ ID int }](got, "tenant")
			if err != nil || !ok || tenant.ID != 7 {
				t.Errorf("ClaimAs(tenant) = %v, %v, %v; want {7}, true, nil", tenant, ok, err)
			}
			// jwx, the JOSE library of record, agrees on the signature and header.
			msg, err := jws.Parse([]byte(tok.Raw))
			if err != nil {
				t.Fatalf("jws.Parse: %v", err)
			}
			h := msg.Signatures()[0].ProtectedHeaders()
			if h.Type() != "at+jwt" || h.KeyID() != e.key.ID() || string(h.Algorithm()) != string(alg) {
				t.Errorf("header typ, kid, alg = %q, %q, %q; want at+jwt, %q, %s", h.Type(), h.KeyID(), h.Algorithm(), e.key.ID(), alg)
			}
			vk := any(e.key.secret)
			if e.key.pub != nil {
				vk = e.key.pub
			}
			if _, err := jws.Verify([]byte(tok.Raw), jws.WithKey(jwa.SignatureAlgorithm(alg), vk)); err != nil {
				t.Errorf("jws.Verify: %v", err)
			}
		})
	}
}

// TestVerifyRejects is the RFC 8725 attack table: every row must fail with
// the given error class.
func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, ES256, -1)
	k := e.key
	kid := k.ID()
	exp := testT0.Add(time.Hour).Unix()
	now := testT0.Unix()
	valid := forge(t, k, hdr(ES256, kid), payload(""))
	parts := strings.Split(valid, ".")

	// HS/EC confusion: HMAC keyed with the public key's encodings.
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	confused := func(secret []byte, alg Algorithm) string {
		in := b64s(hdr(alg, kid)) + "." + b64s(payload(""))
		return in + "." + base64.RawURLEncoding.EncodeToString(hmacSign(alg, secret, []byte(in)))
	}
	attacker := mustKey(t, ES256)
	attackerJWK, _ := jwk.FromRaw(attacker.pub)
	attackerJWKJSON, _ := json.Marshal(attackerJWK)

	var jkuHits atomic.Int32
	jku := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { jkuHits.Add(1) }))
	t.Cleanup(jku.Close)

	sig := parts[2]
	// The 64-byte signature leaves 4 unused bits in its last character:
	// flipping them gives another spelling of the same bytes.
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
	nonCanonical := parts[0] + "." + parts[1] + "." + sig[:len(sig)-1] + string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last^1])

	jsonJWS := `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `","sub":"mallory","roles":["admin"]}`

	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"empty", "", ErrTokenMalformed},
		{"oversized", strings.Repeat("a", defaultMaxTokenBytes-2) + ".b.c", ErrTokenMalformed},
		{"one segment", parts[0], ErrTokenMalformed},
		{"two segments", parts[0] + "." + parts[1], ErrTokenMalformed},
		{"stripped signature", parts[0] + "." + parts[1] + ".", ErrTokenMalformed},
		{"extra dot", valid + ".", ErrTokenMalformed},
		{"four segments", valid + "." + sig, ErrTokenMalformed},
		{"empty header", "." + parts[1] + "." + sig, ErrTokenMalformed},
		{"padding", valid + "==", ErrTokenMalformed},
		{"standard base64 alphabet", strings.ReplaceAll(valid, "_", "/") + "+", ErrTokenMalformed},
		{"line break", parts[0] + "\n." + parts[1] + "." + sig, ErrTokenMalformed},
		{"space", " " + valid, ErrTokenMalformed},
		{"non-canonical signature", nonCanonical, ErrTokenMalformed},
		{"JSON serialization with injected claims", jsonJWS, ErrTokenMalformed},
		{"header not JSON", b64s("not json") + "." + parts[1] + "." + sig, ErrTokenMalformed},
		{"header JSON array", b64s(`["alg"]`) + "." + parts[1] + "." + sig, ErrTokenMalformed},
		{"header alg not string", forge(t, k, `{"alg":["ES256"],"kid":"`+kid+`","typ":"at+jwt"}`, payload("")), ErrTokenMalformed},
		{"header duplicate alg", forge(t, k, `{"alg":"ES256","alg":"none","kid":"`+kid+`","typ":"at+jwt"}`, payload("")), ErrTokenMalformed},
		{"header duplicate kid", forge(t, k, `{"alg":"ES256","kid":"x","kid":"`+kid+`","typ":"at+jwt"}`, payload("")), ErrTokenMalformed},
		{"alg none unsigned", b64s(`{"alg":"none","kid":"`+kid+`","typ":"at+jwt"}`) + "." + parts[1] + ".", ErrTokenMalformed},
		{"alg none with signature", b64s(`{"alg":"none","kid":"`+kid+`","typ":"at+jwt"}`) + "." + parts[1] + "." + sig, ErrTokenInvalid},
		{"alg lower case", forge(t, k, hdr("es256", kid), payload("")), ErrTokenInvalid},
		{"alg other EC", forge(t, k, hdr(ES384, kid), payload("")), ErrTokenInvalid},
		{"HS256 with PEM public key", confused(pemBytes, HS256), ErrTokenInvalid},
		{"HS256 with DER public key", confused(der, HS256), ErrTokenInvalid},
		{"HS512 with PEM public key", confused(pemBytes, HS512), ErrTokenInvalid},
		{"no kid", forge(t, k, `{"alg":"ES256","typ":"at+jwt"}`, payload("")), ErrTokenInvalid},
		{"unknown kid", forge(t, k, hdr(ES256, "other"), payload("")), ErrTokenInvalid},
		{"embedded jwk, attacker kid", forge(t, attacker, `{"alg":"ES256","kid":"`+attacker.ID()+`","typ":"at+jwt","jwk":`+string(attackerJWKJSON)+`}`, payload("")), ErrTokenInvalid},
		{"embedded jwk, our kid", forge(t, attacker, `{"alg":"ES256","kid":"`+kid+`","typ":"at+jwt","jwk":`+string(attackerJWKJSON)+`}`, payload("")), ErrTokenInvalid},
		{"jku header", forge(t, attacker, `{"alg":"ES256","kid":"`+kid+`","typ":"at+jwt","jku":"`+jku.URL+`"}`, payload("")), ErrTokenInvalid},
		{"x5u header", forge(t, attacker, `{"alg":"ES256","kid":"`+kid+`","typ":"at+jwt","x5u":"`+jku.URL+`"}`, payload("")), ErrTokenInvalid},
		{"crit", forge(t, k, `{"alg":"ES256","kid":"`+kid+`","typ":"at+jwt","crit":["exp"],"exp":1}`, payload("")), ErrTokenInvalid},
		{"crit b64", forge(t, k, `{"alg":"ES256","kid":"`+kid+`","typ":"at+jwt","crit":["b64"],"b64":false}`, payload("")), ErrTokenInvalid},
		{"no typ", forge(t, k, `{"alg":"ES256","kid":"`+kid+`"}`, payload("")), ErrTokenInvalid},
		{"typ JWT", forge(t, k, `{"alg":"ES256","kid":"`+kid+`","typ":"JWT"}`, payload("")), ErrTokenInvalid},
		{"typ not string", forge(t, k, `{"alg":"ES256","kid":"`+kid+`","typ":1}`, payload("")), ErrTokenMalformed},
		{"bad signature", parts[0] + "." + parts[1] + "." + forge(t, attacker, hdr(ES256, kid), payload(""))[len(parts[0])+len(parts[1])+2:], ErrTokenInvalid},
		{"short signature", parts[0] + "." + parts[1] + "." + sig[:40], ErrTokenInvalid},
		{"edited payload", parts[0] + "." + b64s(strings.Replace(payload(""), "alice", "admin", 1)) + "." + sig, ErrTokenInvalid},
		{"payload not JSON", forge(t, k, hdr(ES256, kid), "hello"), ErrTokenMalformed},
		{"payload array", forge(t, k, hdr(ES256, kid), "[1]"), ErrTokenMalformed},
		{"payload invalid UTF-8", forge(t, k, hdr(ES256, kid), payload(`"x":"`+"\xff"+`"`)), ErrTokenMalformed},
		{"duplicate sub", forge(t, k, hdr(ES256, kid), payload(`"sub":"admin"`)), ErrTokenMalformed},
		{"duplicate custom claim", forge(t, k, hdr(ES256, kid), payload(`"x":1,"x":2`)), ErrTokenMalformed},
		{"escaped duplicate sub", forge(t, k, hdr(ES256, kid), payload(`"s\u0075b":"admin"`)), ErrTokenMalformed},
		{"exp missing", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q}`, testIssuer, testAudience))), ErrTokenInvalid},
		{"exp zero", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":0}`, testIssuer, testAudience))), ErrTokenMalformed},
		{"exp negative", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":-1}`, testIssuer, testAudience))), ErrTokenMalformed},
		{"exp string date", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":"2099-01-01T00:00:00Z"}`, testIssuer, testAudience))), ErrTokenMalformed},
		{"exp string number", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":"%d"}`, testIssuer, testAudience, exp))), ErrTokenMalformed},
		{"exp null", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":null}`, testIssuer, testAudience))), ErrTokenMalformed},
		{"exp huge", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":1e300}`, testIssuer, testAudience))), ErrTokenMalformed},
		{"expired", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":%d}`, testIssuer, testAudience, now-10))), ErrTokenExpired},
		{"expired at exactly exp plus leeway", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":%d}`, testIssuer, testAudience, now-5))), ErrTokenExpired},
		{"nbf in future", forge(t, k, hdr(ES256, kid), payload(fmt.Sprintf(`"nbf":%d`, now+10))), ErrTokenNotYetValid},
		{"iat in future", forge(t, k, hdr(ES256, kid), withIDs(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":%d,"iat":%d}`, testIssuer, testAudience, exp, now+10))), ErrTokenNotYetValid},
		{"nbf string", forge(t, k, hdr(ES256, kid), payload(`"nbf":"1"`)), ErrTokenMalformed},
		{"wrong issuer", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":"https://evil.example","sub":"a","aud":%q,"exp":%d}`, testAudience, exp))), ErrTokenInvalid},
		{"issuer case differs", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":%q,"exp":%d}`, strings.ToUpper(testIssuer), testAudience, exp))), ErrTokenInvalid},
		{"no issuer", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"sub":"a","aud":%q,"exp":%d}`, testAudience, exp))), ErrTokenInvalid},
		{"wrong audience", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":"other","exp":%d}`, testIssuer, exp))), ErrTokenInvalid},
		{"audience array without ours", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":["x","y"],"exp":%d}`, testIssuer, exp))), ErrTokenInvalid},
		{"audience number", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":1,"exp":%d}`, testIssuer, exp))), ErrTokenMalformed},
		{"no audience", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","exp":%d}`, testIssuer, exp))), ErrTokenInvalid},
		{"no subject", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"aud":%q,"exp":%d}`, testIssuer, testAudience, exp))), ErrTokenInvalid},
		{"empty subject", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"","aud":%q,"exp":%d}`, testIssuer, testAudience, exp))), ErrTokenInvalid},
		{"subject number", forge(t, k, hdr(ES256, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":1,"aud":%q,"exp":%d}`, testIssuer, testAudience, exp))), ErrTokenMalformed},
		{"roles string", forge(t, k, hdr(ES256, kid), payload(`"roles":"admin"`)), ErrTokenMalformed},
		{"roles with number", forge(t, k, hdr(ES256, kid), payload(`"roles":["admin",1]`)), ErrTokenMalformed},
		{"scope array", forge(t, k, hdr(ES256, kid), payload(`"scope":["a"]`)), ErrTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.jwt.Verify(context.Background(), tc.raw)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: error = %v, want %v", err, tc.want)
			}
			if c != nil {
				t.Errorf("Verify: claims = %+v, want nil", c)
			}
			if strings.ContainsAny(err.Error(), `"\`) {
				t.Errorf("Verify: error %q contains a quote or backslash", err)
			}
		})
	}
	if n := jkuHits.Load(); n != 0 {
		t.Errorf("jku/x5u server got %d requests, want 0", n)
	}

	t.Run("jwx jwt.Parse trap", func(t *testing.T) {
		// Documents why no token reaches jwt.Parse: it accepts the JSON
		// serialization and takes the outer, unverified claims.
		tok, err := jwt.Parse([]byte(jsonJWS), jwt.WithKey(jwa.ES256, k.pub), jwt.WithClock(jwt.ClockFunc(e.clock.Now)))
		if err == nil {
			t.Logf("jwx jwt.Parse accepted the injected token with sub %q", tok.Subject())
		}
	})
}

func TestVerifyAccepts(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, -1)
	k, kid := e.key, e.key.ID()
	now := testT0.Unix()
	tests := []struct {
		name    string
		header  string
		payload string
		sub     string
	}{
		{"typ application/at+jwt", `{"alg":"EdDSA","kid":"` + kid + `","typ":"application/at+jwt"}`, payload(""), "alice"},
		{"typ upper case", `{"alg":"EdDSA","kid":"` + kid + `","typ":"AT+JWT"}`, payload(""), "alice"},
		{"ignored headers", `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","x5c":["AAAA"],"jku":"https://evil.example"}`, payload(""), "alice"},
		{"audience array", hdr(EdDSA, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"bob","aud":["x",%q],"exp":%d}`, testIssuer, testAudience, now+60)), "bob"},
		{"fractional exp", hdr(EdDSA, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"bob","aud":%q,"exp":%d.5}`, testIssuer, testAudience, now+60)), "bob"},
		{"expired within leeway", hdr(EdDSA, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"bob","aud":%q,"exp":%d}`, testIssuer, testAudience, now-4)), "bob"},
		{"nbf within leeway", hdr(EdDSA, kid), payload(fmt.Sprintf(`"nbf":%d`, now+4)), "alice"},
		{"upper-case SUB is not sub", hdr(EdDSA, kid), payload(`"SUB":"admin"`), "alice"},
		{"escaped string", hdr(EdDSA, kid), withProfile(fmt.Sprintf(`{"iss":%q,"sub":"b\u00f6b","aud":%q,"exp":%d}`, testIssuer, testAudience, now+60)), "böb"},
		{"whitespace", hdr(EdDSA, kid), withProfile("\n { \"iss\" : \"" + testIssuer + "\" , \"sub\":\"bob\",\"aud\":\"" + testAudience + "\",\"exp\":" + fmt.Sprint(now+60) + ",\"o\":{\"a\":[1,{\"b\":\"}\"}]} } "), "bob"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.jwt.Verify(context.Background(), forge(t, k, tc.header, tc.payload))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != tc.sub {
				t.Errorf("Verify: sub = %q, want %q", c.Subject, tc.sub)
			}
		})
	}
}

func TestVerifyMaxTokenBytes(t *testing.T) {
	t.Parallel()
	k := mustKey(t, HS256)
	ks, _ := NewKeySet(k)
	j, err := New(Config{Keys: ks, Issuer: testIssuer, Audience: []string{testAudience}, MaxTokenBytes: 100, Now: newTestClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	raw := forge(t, k, hdr(HS256, k.ID()), payload(""))
	if _, err := j.Verify(context.Background(), raw); !errors.Is(err, ErrTokenMalformed) {
		t.Errorf("Verify(%d bytes): error = %v, want ErrTokenMalformed", len(raw), err)
	}
}

func TestIssueErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, HS256, 0)
	tests := []struct {
		name string
		c    Claims
	}{
		{"no subject", Claims{ClientID: testClient}},
		{"no client", Claims{Subject: "a"}},
		{"other issuer", Claims{ClientID: testClient, Subject: "a", Issuer: "https://other.example"}},
		{"exp before iat", Claims{ClientID: testClient, Subject: "a", IssuedAt: testT0, ExpiresAt: testT0.Add(-time.Minute)}},
		{"scope with space", Claims{ClientID: testClient, Subject: "a", Scope: []string{"a b"}}},
		{"empty scope", Claims{ClientID: testClient, Subject: "a", Scope: []string{""}}},
		{"extra collides", Claims{ClientID: testClient, Subject: "a", Extra: map[string]json.RawMessage{"sub": json.RawMessage(`"admin"`)}}},
		{"extra not JSON", Claims{ClientID: testClient, Subject: "a", Extra: map[string]json.RawMessage{"x": json.RawMessage(`{`)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tok, err := e.jwt.Issue(context.Background(), tc.c); err == nil {
				t.Errorf("Issue: token %q, want error", tok.Raw)
			}
		})
	}
}

// TestIssueRefusesInvalidUTF8: a JSON encoder replaces invalid UTF-8 with
// U+FFFD, so the token would carry another subject than the one asked for
// and than Token.Claims reports.
func TestIssueRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, HS256, -1)
	bad := "alice\xff"
	tests := []struct {
		name string
		c    Claims
	}{
		{"subject", Claims{ClientID: testClient, Subject: bad}},
		{"audience", Claims{ClientID: testClient, Subject: "a", Audience: []string{testAudience, bad}}},
		{"jti", Claims{ClientID: testClient, Subject: "a", ID: bad}},
		{"client_id", Claims{Subject: "a", ClientID: bad}},
		{"role", Claims{ClientID: testClient, Subject: "a", Roles: []string{bad}}},
		{"extra claim name", Claims{ClientID: testClient, Subject: "a", Extra: map[string]json.RawMessage{bad: json.RawMessage(`1`)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := e.jwt.Issue(context.Background(), tc.c)
			if err == nil {
				c, verr := e.jwt.Verify(context.Background(), tok.Raw)
				t.Errorf("Issue: error = nil, want error (issued sub %q, verified %+v, %v)", tok.Claims.Subject, c, verr)
			}
		})
	}
	// Valid non-ASCII text is fine.
	tok, err := e.jwt.Issue(context.Background(), Claims{ClientID: testClient, Subject: "Zoë <&>", Roles: []string{"ünïcode"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.jwt.Verify(context.Background(), tok.Raw)
	if err != nil || c.Subject != "Zoë <&>" || c.Roles[0] != "ünïcode" {
		t.Errorf("Verify = %+v, %v", c, err)
	}
}

// TestIssueNumericDateBounds: Issue refuses times that no verifier accepts
// (RFC 7519 NumericDates after the epoch, at most 9999-12-31T23:59:59Z),
// and accepts the bounds themselves.
func TestIssueNumericDateBounds(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, HS256, -1)
	last := time.Unix(maxNumericDate, 0)
	tests := []struct {
		name string
		c    Claims
		ok   bool
	}{
		{"iat before 1970", Claims{IssuedAt: time.Unix(-1, 0), ExpiresAt: testT0}, false},
		{"iat at the epoch", Claims{IssuedAt: time.Unix(0, 0), ExpiresAt: testT0}, false},
		{"iat one second after the epoch", Claims{IssuedAt: time.Unix(1, 0), ExpiresAt: testT0.Add(time.Hour)}, true},
		{"exp after 9999", Claims{ExpiresAt: last.Add(time.Second)}, false},
		{"exp at the last second of 9999", Claims{ExpiresAt: last}, true},
		{"nbf before 1970", Claims{NotBefore: time.Unix(-5, 0)}, false},
		{"nbf at the epoch", Claims{NotBefore: time.Unix(0, 0)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.Subject, c.ClientID = "alice", testClient
			tok, err := e.jwt.Issue(context.Background(), c)
			if (err == nil) != tc.ok {
				t.Fatalf("Issue: error = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if _, err := e.jwt.Verify(context.Background(), tok.Raw); err != nil {
				t.Errorf("Verify(issued token): %v", err)
			}
		})
	}
}

func TestIssueDefaultsAndOverrides(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, HS256, 0)
	nbf := testT0.Add(time.Second)
	tok, err := e.jwt.Issue(context.Background(), Claims{
		Subject:   "a",
		ClientID:  testClient,
		Audience:  []string{testAudience, "https://other.example"},
		ExpiresAt: testT0.Add(time.Minute + 500*time.Millisecond),
		NotBefore: nbf,
		ID:        "fixed",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Claims.ExpiresAt.Equal(testT0.Add(time.Minute)) || tok.Claims.ID != "fixed" || len(tok.Claims.Audience) != 2 {
		t.Errorf("Issue: claims = %+v", tok.Claims)
	}
	e.clock.Add(2 * time.Second)
	c, err := e.jwt.Verify(context.Background(), tok.Raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !c.NotBefore.Equal(nbf) || c.ID != "fixed" || len(c.Audience) != 2 {
		t.Errorf("Verify: claims = %+v", c)
	}
	// A fresh jti each time.
	t1, _ := e.jwt.Issue(context.Background(), Claims{ClientID: testClient, Subject: "a"})
	t2, _ := e.jwt.Issue(context.Background(), Claims{ClientID: testClient, Subject: "a"})
	if t1.Claims.ID == t2.Claims.ID || len(t1.Claims.ID) < 20 {
		t.Errorf("Issue: jti %q and %q, want distinct random IDs", t1.Claims.ID, t2.Claims.ID)
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	k := mustKey(t, HS256)
	ks, _ := NewKeySet(k)
	good := Config{Keys: ks, Issuer: testIssuer, Audience: []string{testAudience}}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no keys", func(c *Config) { c.Keys = nil }},
		{"no issuer", func(c *Config) { c.Issuer = "" }},
		{"no audience", func(c *Config) { c.Audience = nil }},
		{"empty audience", func(c *Config) { c.Audience = []string{""} }},
		{"negative TTL", func(c *Config) { c.TTL = -time.Second }},
		{"TTL over a day", func(c *Config) { c.TTL = 25 * time.Hour }},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }},
		{"huge leeway", func(c *Config) { c.Leeway = time.Hour }},
		{"negative max bytes", func(c *Config) { c.MaxTokenBytes = -1 }},
		{"huge max bytes", func(c *Config) { c.MaxTokenBytes = 2 << 20 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			if _, err := New(cfg); err == nil {
				t.Error("New: error = nil, want error")
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Errorf("New(good): %v", err)
	}
}

func TestIssueEscapesStrings(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, HS256, -1)
	odd := "a\"b\\c<d>&e\u2028f\x01ö"
	in := Claims{Subject: odd, ClientID: odd, Roles: []string{odd, "plain"}, Extra: map[string]json.RawMessage{odd: json.RawMessage(`{"k": [1, 2]}`)}}
	raw := e.issue(t, in)
	c, err := e.jwt.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != odd || c.ClientID != odd || c.Roles[0] != odd {
		t.Errorf("Verify: sub, client_id, roles = %q, %q, %q; want %q", c.Subject, c.ClientID, c.Roles, odd)
	}
	var v struct{ K []int }
	if err := json.Unmarshal(c.Extra[odd], &v); err != nil || len(v.K) != 2 {
		t.Errorf("Verify: extra = %s, %v", c.Extra[odd], err)
	}
}

// TestVerifyProfileClaims checks the RFC 9068 §2.2 claims every token must
// carry, and the refusal of nested tokens (RFC 7519 §5.2).
func TestVerifyProfileClaims(t *testing.T) {
	t.Parallel()
	strict := newTestEnv(t, EdDSA, 0)
	lax, err := New(Config{Keys: strict.keys, Issuer: testIssuer, Audience: []string{testAudience}, AllowMissingClientID: true, Now: strict.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	k, kid := strict.key, strict.key.ID()
	ctyHeader := func(cty string) string {
		return `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","cty":` + cty + `}`
	}
	tests := []struct {
		name      string
		header    string
		payload   string
		strictErr error // nil: verifies
		laxErr    error // with AllowMissingClientID
	}{
		{"complete", hdr(EdDSA, kid), payload(""), nil, nil},
		{"no iat", hdr(EdDSA, kid), payloadWithout([]string{"iat"}, ""), errNoIat, errNoIat},
		{"no jti", hdr(EdDSA, kid), payloadWithout([]string{"jti"}, ""), errNoJTI, errNoJTI},
		{"empty jti", hdr(EdDSA, kid), payloadWithout([]string{"jti"}, `"jti":""`), errNoJTI, errNoJTI},
		{"no client_id", hdr(EdDSA, kid), payloadWithout([]string{"client_id"}, ""), errNoClientID, nil},
		{"empty client_id", hdr(EdDSA, kid), payloadWithout([]string{"client_id"}, `"client_id":""`), errNoClientID, nil},
		{"client in azp only", hdr(EdDSA, kid), payloadWithout([]string{"client_id"}, `"azp":"app"`), errNoClientID, nil},
		{"no client_id, no jti", hdr(EdDSA, kid), payloadWithout([]string{"client_id", "jti"}, ""), errNoJTI, errNoJTI},
		{"cty JWT", ctyHeader(`"JWT"`), payload(""), errCty, errCty},
		{"cty at+jwt", ctyHeader(`"at+jwt"`), payload(""), errCty, errCty},
		{"cty empty", ctyHeader(`""`), payload(""), errCty, errCty},
		{"cty number", ctyHeader(`1`), payload(""), errCty, errCty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := forge(t, k, tc.header, tc.payload)
			for _, v := range []struct {
				name string
				jwt  *JWT
				want error
			}{{"strict", strict.jwt, tc.strictErr}, {"AllowMissingClientID", lax, tc.laxErr}} {
				c, err := v.jwt.Verify(context.Background(), raw)
				if err != v.want {
					t.Errorf("%s: Verify: error = %v, want %v", v.name, err, v.want)
				}
				if v.want != nil && !errors.Is(err, ErrTokenInvalid) {
					t.Errorf("%s: Verify: error = %v, want an ErrTokenInvalid", v.name, err)
				}
				if (c == nil) != (v.want != nil) {
					t.Errorf("%s: Verify: claims = %+v with error %v", v.name, c, err)
				}
			}
		})
	}
	// A refused token is not cached: verifying it again fails again.
	raw := forge(t, k, hdr(EdDSA, kid), payloadWithout([]string{"client_id"}, ""))
	for range 2 {
		if _, err := strict.jwt.Verify(context.Background(), raw); err != errNoClientID {
			t.Errorf("Verify(no client_id) again: error = %v, want %v", err, errNoClientID)
		}
	}
}

func TestRemoteVerifierProfileClaims(t *testing.T) {
	t.Parallel()
	e, srv, strict := newRemoteEnv(t)
	lax, err := NewRemoteVerifier(t.Context(), RemoteConfig{
		JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience},
		Now: e.clock.Now, RefreshInterval: -1, AllowMissingClientID: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	kid := e.key.ID()
	noClient := forge(t, e.key, hdr(EdDSA, kid), payloadWithout([]string{"client_id"}, ""))
	noIat := forge(t, e.key, hdr(EdDSA, kid), payloadWithout([]string{"iat"}, ""))
	cty := forge(t, e.key, `{"alg":"EdDSA","kid":"`+kid+`","typ":"at+jwt","cty":"JWT"}`, payload(""))
	tests := []struct {
		name string
		v    *RemoteVerifier
		raw  string
		want error
	}{
		{"strict, no client_id", strict, noClient, errNoClientID},
		{"AllowMissingClientID, no client_id", lax, noClient, nil},
		{"strict, no iat", strict, noIat, errNoIat},
		{"AllowMissingClientID, no iat", lax, noIat, errNoIat},
		{"strict, cty", strict, cty, errCty},
		{"AllowMissingClientID, cty", lax, cty, errCty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.v.Verify(context.Background(), tc.raw); err != tc.want {
				t.Errorf("Verify: error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestIssueRequiresClientID(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	tok, err := e.jwt.Issue(context.Background(), Claims{Subject: "alice"})
	if err == nil {
		t.Fatalf("Issue(no ClientID) = %q, want error", tok.Raw)
	}
	if tok.Raw != "" {
		t.Errorf("Issue(no ClientID): Raw = %q, want empty", tok.Raw)
	}
	tok, err = e.jwt.Issue(context.Background(), Claims{Subject: "alice", ClientID: "web"})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	c, err := e.jwt.Verify(context.Background(), tok.Raw)
	if err != nil || c.ClientID != "web" || c.ID == "" || c.IssuedAt.IsZero() {
		t.Errorf("Verify(issued token) = %+v, %v; want client_id web, jti and iat set", c, err)
	}
}
