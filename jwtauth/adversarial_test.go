package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// The tests in this file try to break the verifier the way an attacker
// would: parser differentials in the strict JSON readers, header tricks,
// the token cache, key confusion and the remote key fetcher.

// TestClaimsParserDifferentials feeds signed payloads that JSON parsers
// disagree on. A row with want nil must verify; otherwise the error class
// is checked.
func TestClaimsParserDifferentials(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, -1)
	k, kid := e.key, e.key.ID()
	exp := testT0.Add(time.Hour).Unix()
	base := func(expJSON string) string {
		return withProfile(fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":%q,"exp":%s}`, testIssuer, testAudience, expJSON))
	}
	deep := strings.Repeat("[", 2000) + strings.Repeat("]", 2000)
	tests := []struct {
		name    string
		payload string
		want    error
	}{
		{"escaped duplicate iss", payload(`"\u0069ss":"https://evil.example"`), ErrTokenMalformed},
		{"escaped duplicate custom claim", payload(`"role":1,"r\u006fle":2`), ErrTokenMalformed},
		{"two lone surrogates as names", payload(`"\ud800":1,"\udc00":2`), ErrTokenMalformed},
		{"invalid UTF-8 in a name", payload("\"\xc3\":1"), ErrTokenMalformed},
		{"overlong UTF-8 in a value", payload("\"x\":\"\xc0\xaf\""), ErrTokenMalformed},
		{"deeply nested custom claim", payload(`"x":` + deep), nil},
		{"exp 1e400", base("1e400"), ErrTokenMalformed},
		{"exp -0", base("-0"), ErrTokenMalformed},
		{"exp 0.0", base("0.0"), ErrTokenMalformed},
		{"exp 1e-400", base("1e-400"), ErrTokenMalformed},
		{"exp 1.5", base("1.5"), ErrTokenExpired},
		{"exp 9e18", base("9e18"), ErrTokenMalformed},
		{"exp 9223372036854775808", base("9223372036854775808"), ErrTokenMalformed},
		{"exp 253402300800", base("253402300800"), ErrTokenMalformed},
		{"exp as exponent", base(fmt.Sprintf("%de0", exp)), nil},
		{"exp with fraction", base(fmt.Sprintf("%d.999999999", exp)), nil},
		{"exp leading zero", base(fmt.Sprintf("0%d", exp)), ErrTokenMalformed},
		{"exp plus sign", base(fmt.Sprintf("+%d", exp)), ErrTokenMalformed},
		{"exp NaN", base("NaN"), ErrTokenMalformed},
		{"exp Infinity", base("Infinity"), ErrTokenMalformed},
		{"exp hex", base("0x7fffffff"), ErrTokenMalformed},
		{"exp true", base("true"), ErrTokenMalformed},
		{"exp object", base(`{"$date":1}`), ErrTokenMalformed},
		{"trailing garbage", payload("") + "x", ErrTokenMalformed},
		{"two objects", payload("") + payload(""), ErrTokenMalformed},
		{"byte order mark", "\ufeff" + payload(""), ErrTokenMalformed},
		{"form feed", "\f" + payload(""), ErrTokenMalformed},
		{"NUL after object", payload("") + "\x00", ErrTokenMalformed},
		{"whitespace everywhere", withProfile(fmt.Sprintf(" \t\r\n{\n\"iss\" :\t%q\r\n,\n\"sub\"\t:\"alice\" , \"aud\":[ %q ] ,\"exp\"\n:\n%d\t,\"roles\" : [ \"a\" ,\t\"b\" ]\r}\n", testIssuer, testAudience, exp)), nil},
		{"aud empty array", withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":[],"exp":%d}`, testIssuer, exp)), ErrTokenInvalid},
		{"aud array with null", withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":[%q,null],"exp":%d}`, testIssuer, testAudience, exp)), ErrTokenMalformed},
		{"aud array nested", withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":[[%q]],"exp":%d}`, testIssuer, testAudience, exp)), ErrTokenMalformed},
		{"aud object", withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":{"0":%q},"exp":%d}`, testIssuer, testAudience, exp)), ErrTokenMalformed},
		{"aud null", withProfile(fmt.Sprintf(`{"iss":%q,"sub":"a","aud":null,"exp":%d}`, testIssuer, exp)), ErrTokenMalformed},
		{"scope null", payload(`"scope":null`), ErrTokenMalformed},
		{"scope number", payload(`"scope":1`), ErrTokenMalformed},
		{"roles null", payload(`"roles":null`), ErrTokenMalformed},
		{"roles with object", payload(`"roles":["a",{"b":1}]`), ErrTokenMalformed},
		{"roles with bool", payload(`"roles":[true]`), ErrTokenMalformed},
		{"sub null", withProfile(fmt.Sprintf(`{"iss":%q,"sub":null,"aud":%q,"exp":%d}`, testIssuer, testAudience, exp)), ErrTokenMalformed},
		{"iss null", withProfile(fmt.Sprintf(`{"iss":null,"sub":"a","aud":%q,"exp":%d}`, testAudience, exp)), ErrTokenMalformed},
		{"nbf null", payload(`"nbf":null`), ErrTokenMalformed},
		{"iat null", payloadWithout([]string{"iat"}, `"iat":null`), ErrTokenMalformed},
		{"jti number", payloadWithout([]string{"jti"}, `"jti":1`), ErrTokenMalformed},
		{"client_id array", payloadWithout([]string{"client_id"}, `"client_id":["a"]`), ErrTokenMalformed},
		{"huge custom number", payload(`"x":1e999999`), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := e.jwt.Verify(context.Background(), forge(t, k, hdr(EdDSA, kid), tc.payload))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || c != nil {
				t.Fatalf("Verify = %v, %v; want error %v", c, err, tc.want)
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

// TestHeaderTricks: header members an attacker controls.
func TestHeaderTricks(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, -1)
	k, kid := e.key, e.key.ID()
	escapedKID := fmt.Sprintf(`\u%04x`, kid[0]) + kid[1:]
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"alg lower case", `{"alg":"eddsa","kid":"` + kid + `","typ":"at+jwt"}`, ErrTokenInvalid},
		{"alg trailing space", `{"alg":"EdDSA ","kid":"` + kid + `","typ":"at+jwt"}`, ErrTokenInvalid},
		{"alg with NUL", `{"alg":"EdDSA\u0000","kid":"` + kid + `","typ":"at+jwt"}`, ErrTokenInvalid},
		{"alg Ed25519", `{"alg":"Ed25519","kid":"` + kid + `","typ":"at+jwt"}`, ErrTokenInvalid},
		{"alg null", `{"alg":null,"kid":"` + kid + `","typ":"at+jwt"}`, ErrTokenMalformed},
		{"alg escaped", `{"alg":"\u0045dDSA","kid":"` + kid + `","typ":"at+jwt"}`, nil},
		{"member name escaped", `{"\u0061lg":"EdDSA","kid":"` + kid + `","typ":"at+jwt"}`, nil},
		{"alg twice, once escaped", `{"alg":"EdDSA","\u0061lg":"none","kid":"` + kid + `","typ":"at+jwt"}`, ErrTokenMalformed},
		{"kid escaped", `{"alg":"EdDSA","kid":"` + escapedKID + `","typ":"at+jwt"}`, nil},
		{"kid with NUL suffix", `{"alg":"EdDSA","kid":"` + kid + `\u0000","typ":"at+jwt"}`, ErrTokenInvalid},
		{"kid with path", `{"alg":"EdDSA","kid":"../../` + kid + `","typ":"at+jwt"}`, ErrTokenInvalid},
		{"kid number", `{"alg":"EdDSA","kid":1,"typ":"at+jwt"}`, ErrTokenMalformed},
		{"kid empty", `{"alg":"EdDSA","kid":"","typ":"at+jwt"}`, ErrTokenInvalid},
		{"typ upper case", `{"alg":"EdDSA","kid":"` + kid + `","typ":"AT+JWT"}`, nil},
		{"typ jwt", `{"alg":"EdDSA","kid":"` + kid + `","typ":"jwt"}`, ErrTokenInvalid},
		{"typ with parameter", `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt; q=1"}`, ErrTokenInvalid},
		{"typ with space", `{"alg":"EdDSA","kid":"` + kid + `","typ":" at+jwt"}`, ErrTokenInvalid},
		{"typ twice", `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","typ":"at+jwt"}`, ErrTokenMalformed},
		{"crit empty", `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","crit":[]}`, ErrTokenInvalid},
		{"crit null", `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","crit":null}`, ErrTokenInvalid},
		{"crit escaped name", `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","cr\u0069t":["x"],"x":1}`, ErrTokenInvalid},
		{"b64 false without crit is ignored", `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","b64":false}`, nil},
		{"zip is ignored", `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","zip":"DEF"}`, nil},
		{"byte order mark", "\ufeff" + hdr(EdDSA, kid), ErrTokenMalformed},
		{"trailing garbage", hdr(EdDSA, kid) + "]", ErrTokenMalformed},
		{"array", "[" + hdr(EdDSA, kid) + "]", ErrTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := e.jwt.Verify(context.Background(), forge(t, k, tc.header, payload("")))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || c != nil {
				t.Fatalf("Verify = %v, %v; want error %v", c, err, tc.want)
			}
		})
	}

	t.Run("b64 false with an unencoded payload", func(t *testing.T) {
		// RFC 7797: the signing input is the header segment, a dot and the
		// raw payload. The compact form then carries the raw payload, which
		// is not base64url, or a detached (empty) payload.
		t.Parallel()
		h := b64s(`{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt","b64":false,"crit":["b64"]}`)
		p := payload("")
		sig := base64.RawURLEncoding.EncodeToString(rawSign(t, k, []byte(h+"."+p)))
		for _, raw := range []string{h + "." + p + "." + sig, h + ".." + sig} {
			if c, err := e.jwt.Verify(context.Background(), raw); err == nil {
				t.Errorf("Verify(%.40q...) = %v, want error", raw, c)
			}
		}
	})
}

// TestVerifiedSlicesHaveNoSpareCapacity: claims may come from the token
// cache and so be shared by every request carrying the token. A handler
// that appends to Principal.Roles (say, to add roles implied by others)
// must get a fresh array, never write into spare capacity that the next
// request's append writes too.
func TestVerifiedSlicesHaveNoSpareCapacity(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	raw := e.issue(t, Claims{
		Subject:  "alice",
		ClientID: testClient,
		Audience: []string{testAudience, "b", "c"},
		Roles:    []string{"a", "b", "c"},
		Scope:    []string{"x", "y", "z"},
	})
	c1, err := e.jwt.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string][]string{"Audience": c1.Audience, "Roles": c1.Roles, "Scope": c1.Scope} {
		if len(s) != 3 || cap(s) != len(s) {
			t.Errorf("%s: len %d cap %d, want 3 and 3", name, len(s), cap(s))
		}
	}
	a := append(c1.Roles, "admin")
	c2, err := e.jwt.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Fatal("second Verify missed the cache")
	}
	_ = append(c2.Roles, "guest")
	if a[3] != "admin" {
		t.Errorf("first request's appended role = %q, want admin", a[3])
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

// TestCacheAdversarial: the cache must behave exactly like a full
// verification.
func TestCacheAdversarial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a failed token is not served after its twin succeeds", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, HS256, 0)
		good := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
		bad := good[:len(good)-2] + "AA"
		if bad == good {
			bad = good[:len(good)-2] + "BA"
		}
		for range 3 {
			if _, err := e.jwt.Verify(ctx, bad); err == nil {
				t.Fatal("Verify(bad) succeeded")
			}
			if _, err := e.jwt.Verify(ctx, good); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("a token verified by one JWT is not trusted by another", func(t *testing.T) {
		t.Parallel()
		e1 := newTestEnv(t, HS256, 0)
		e2 := newTestEnv(t, HS256, 0)
		raw := e1.issue(t, Claims{ClientID: testClient, Subject: "alice"})
		if _, err := e1.jwt.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		if _, err := e2.jwt.Verify(ctx, raw); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify with another key set: %v, want ErrTokenInvalid", err)
		}
	})

	t.Run("rotation keeps tokens of the retired key valid, uncached", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
		e.jwt.Verify(ctx, raw)
		if err := e.keys.Rotate(mustKey(t, EdDSA)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Errorf("Verify after Rotate: %v", err)
		}
		// The key set is replaced by one whose key has the old ID but
		// other material: the cached entry must not survive.
		if err := e.keys.Remove(e.key.ID()); err != nil {
			t.Fatal(err)
		}
		imposter, _ := NewKey(EdDSA, mustKey(t, EdDSA).signer, e.key.ID())
		if err := e.keys.Add(imposter); err != nil {
			t.Fatal(err)
		}
		if _, err := e.jwt.Verify(ctx, raw); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify after the kid was reused for another key: %v, want ErrTokenInvalid", err)
		}
	})

	t.Run("a cached token stays within the size cap", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, HS256, 0)
		raw := e.issue(t, Claims{ClientID: testClient, Subject: strings.Repeat("a", 4000)})
		if _, err := e.jwt.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		small, _ := New(Config{Keys: e.keys, Issuer: testIssuer, Audience: []string{testAudience}, MaxTokenBytes: 1000, Now: e.clock.Now})
		if _, err := small.Verify(ctx, raw); !errors.Is(err, ErrTokenMalformed) {
			t.Errorf("Verify over the cap: %v, want ErrTokenMalformed", err)
		}
	})

	t.Run("concurrent use under eviction", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, HS256, 4)
		toks := make([]string, 16)
		for i := range toks {
			toks[i] = e.issue(t, Claims{ClientID: testClient, Subject: fmt.Sprint("u", i)})
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 200 {
					j := (i + g) % len(toks)
					c, err := e.jwt.Verify(ctx, toks[j])
					if err != nil || c.Subject != fmt.Sprint("u", j) {
						t.Errorf("Verify(token %d) = %v, %v", j, c, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := e.jwt.v.cache.len(); n > 4 {
			t.Errorf("cache entries = %d, want at most 4", n)
		}
	})
}

// TestKeyConfusion: one key's material under another algorithm.
func TestKeyConfusion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rs, err := NewKey(RS256, rsaTestKey(), "rs")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := NewKey(PS256, rsaTestKey(), "ps")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := NewKeySet(rs, ps)
	if err != nil {
		t.Fatal(err)
	}
	clock := newTestClock()
	j, _ := New(Config{Keys: ks, Issuer: testIssuer, Audience: []string{testAudience}, Now: clock.Now})
	pssUnder := func(kidOfHeader string, alg Algorithm) string {
		in := b64s(hdr(alg, kidOfHeader)) + "." + b64s(payload(""))
		return in + "." + base64.RawURLEncoding.EncodeToString(rawSign(t, ps, []byte(in)))
	}
	pkcsUnder := func(kidOfHeader string, alg Algorithm) string {
		in := b64s(hdr(alg, kidOfHeader)) + "." + b64s(payload(""))
		return in + "." + base64.RawURLEncoding.EncodeToString(rawSign(t, rs, []byte(in)))
	}
	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"PS256 signature, RS256 kid, PS256 header", pssUnder("rs", PS256), false},
		{"PS256 signature, RS256 kid, RS256 header", pssUnder("rs", RS256), false},
		{"RS256 signature, PS256 kid, PS256 header", pkcsUnder("ps", PS256), false},
		{"RS256 signature, PS256 kid, RS256 header", pkcsUnder("ps", RS256), false},
		{"PS256 as it should be", pssUnder("ps", PS256), true},
		{"RS256 as it should be", pkcsUnder("rs", RS256), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := j.Verify(ctx, tc.raw)
			if (err == nil) != tc.ok {
				t.Errorf("Verify: error = %v, want ok %v", err, tc.ok)
			}
		})
	}
	if _, err := NewPublicKey(HS256, &rsaTestKey().PublicKey, "x"); err == nil {
		t.Error("NewPublicKey(HS256, RSA public key): error = nil")
	}
	if _, err := NewKey(HS256, x509.MarshalPKCS1PublicKey(&rsaTestKey().PublicKey)[:20], "x"); err == nil {
		t.Error("NewKey(HS256, 20 bytes): error = nil")
	}
}

// TestLoadKeyFileAdversarial: PEM files with several or unusual blocks.
func TestLoadKeyFileAdversarial(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(mustKey(t, EdDSA).signer)
	if err != nil {
		t.Fatal(err)
	}
	der2, _ := x509.MarshalPKCS8PrivateKey(mustKey(t, ES256).signer)
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	key2 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der2})
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}})
	legacyEncrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"}, Bytes: make([]byte, 32)})
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"certificate then key", append(append([]byte{}, cert...), key...), true},
		{"key with text around", append(append([]byte("comment\n"), key...), []byte("trailer\n")...), true},
		{"two keys", append(append([]byte{}, key...), key2...), false},
		{"same key twice", append(append([]byte{}, key...), key...), false},
		{"legacy encrypted", legacyEncrypted, false},
		{"certificate only", cert, false},
		{"JSON that is not a JWK", []byte(`{"hello":"world"}`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := LoadKeyFile(p)
			if (err == nil) != tc.ok {
				t.Errorf("LoadKeyFile = %v, %v; want ok %v", keys, err, tc.ok)
			}
		})
	}
}

// TestRemoteVerifierAdversarial: a hostile or failing issuer endpoint and a
// hostile client.
func TestRemoteVerifierAdversarial(t *testing.T) {
	t.Parallel()

	t.Run("slow server times out and the last good set stays", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		jwks := e.keys.JWKSHandler()
		release := make(chan struct{})
		var slow sync.Map
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := slow.Load("on"); ok {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			jwks.ServeHTTP(w, r)
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		r, err := NewRemoteVerifier(t.Context(), RemoteConfig{
			JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, Now: e.clock.Now,
			HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}, RefreshInterval: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		slow.Store("on", true)
		if err := r.Refresh(context.Background()); err == nil {
			t.Error("Refresh from a hanging server: error = nil")
		}
		if _, err := r.Verify(context.Background(), e.issue(t, Claims{ClientID: testClient, Subject: "alice"})); err != nil {
			t.Errorf("Verify after a timed-out refresh: %v", err)
		}
	})

	t.Run("alg none keys are never used and oct keys refuse the set", func(t *testing.T) {
		t.Parallel()
		good := mustKey(t, EdDSA)
		goodJWK, _ := publicJWK(good)
		edNone := strings.Replace(strings.Replace(string(goodJWK), `"EdDSA"`, `"none"`, 1), good.ID(), "none-key", 1)
		keys, err := parseRemoteSet([]byte(`{"keys":[` + string(goodJWK) + `,` + edNone + `]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[good.ID()] == nil || keys[good.ID()].alg != EdDSA {
			t.Errorf("parseRemoteSet = %v, want only the EdDSA key", keys)
		}
		secret := make([]byte, 32)
		rand.Read(secret)
		oct, _ := jwk.FromRaw(secret)
		oct.Set(jwk.KeyIDKey, good.ID()) // collides with the good key
		oct.Set(jwk.AlgorithmKey, "HS256")
		octJSON, _ := json.Marshal(oct)
		if keys, err := parseRemoteSet([]byte(`{"keys":[` + string(goodJWK) + `,` + string(octJSON) + `]}`)); err == nil {
			t.Errorf("parseRemoteSet(set with an HMAC secret) = %v, want error", keys)
		}
	})

	t.Run("a flood of unknown kids fetches at most once", func(t *testing.T) {
		t.Parallel()
		e, srv, r := newRemoteEnv(t)
		stranger := mustKey(t, EdDSA)
		e.clock.Add(2 * time.Minute)
		var wg sync.WaitGroup
		for i := range 50 {
			raw := forge(t, stranger, hdr(EdDSA, fmt.Sprint("kid-", i)), payload(""))
			wg.Go(func() { r.Verify(context.Background(), raw) })
		}
		wg.Wait()
		if got := srv.hits.Load(); got != 2 {
			t.Errorf("fetches = %d, want 2 (initial + one refetch)", got)
		}
	})

	t.Run("a caller that hangs up does not hold back a rotation", func(t *testing.T) {
		// The refetch for an unknown kid serves every caller. If it ran on
		// the context of the request that happened to trigger it, a client
		// that hangs up at once would make the fetch fail, use up the
		// refetch budget, and leave the issuer's new key unknown until
		// the next background refresh.
		t.Parallel()
		e, srv, r := newRemoteEnv(t)
		e.clock.Add(2 * time.Minute)
		if err := e.keys.Rotate(mustKey(t, EdDSA)); err != nil {
			t.Fatal(err)
		}
		fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})
		gone, cancel := context.WithCancel(context.Background())
		cancel()
		r.Verify(gone, fresh)
		if _, err := r.Verify(context.Background(), fresh); err != nil {
			t.Errorf("Verify(token of the new key) after a hung-up refetch: %v", err)
		}
		if got := srv.hits.Load(); got != 2 {
			t.Errorf("fetches = %d, want 2", got)
		}
	})
}

// FuzzClaimsDifferential compares the strict claims reader with
// encoding/json on every payload the reader accepts: both must see the same
// member names and the same values of the registered string claims, so no
// JSON parser downstream can read a verified token differently.
func FuzzClaimsDifferential(f *testing.F) {
	f.Add([]byte(payload(`"roles":["a","b"],"scope":"x y","x":{"a":[1,"}"]}`)))
	f.Add([]byte(`{"s\u0075b":"a\u0000b","\ud800":1,"x\"y":"\\"}`))
	f.Add([]byte(`{"sub":"\ud83d\ude00","aud":["a","\u00e9"],"exp":1.5e9}`))
	f.Add([]byte(` {"iss" : "i" , "jti":"` + "\u2028" + `"} `))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeClaims(data)
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("decodeClaims accepted what encoding/json refuses: %v", err)
		}
		n := len(c.Extra)
		for _, name := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "roles"} {
			if _, ok := m[name]; ok {
				n++
			}
		}
		if n != len(m) {
			t.Fatalf("decodeClaims saw %d members, encoding/json %d", n, len(m))
		}
		for name, want := range map[string]string{"iss": c.Issuer, "sub": c.Subject, "jti": c.ID, "client_id": c.ClientID} {
			raw, ok := m[name]
			if !ok {
				if want != "" {
					t.Fatalf("%s: decodeClaims read %q, encoding/json nothing", name, want)
				}
				continue
			}
			var got string
			if err := json.Unmarshal(raw, &got); err != nil || got != want {
				t.Fatalf("%s: decodeClaims read %q, encoding/json %q (%v)", name, want, got, err)
			}
		}
		for name, want := range map[string][]string{"roles": c.Roles} {
			if raw, ok := m[name]; ok {
				var got []string
				if err := json.Unmarshal(raw, &got); err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
					t.Fatalf("%s: decodeClaims read %q, encoding/json %q (%v)", name, want, got, err)
				}
			}
		}
		for name, v := range c.Extra {
			if string(m[name]) != string(v) {
				t.Fatalf("Extra[%q] = %s, encoding/json %s", name, v, m[name])
			}
		}
	})
}

// TestRemoteVerifierKIDReused: an issuer that reuses a key ID for new key
// material. After the refresh, tokens of the old key fail and tokens of the
// new one verify, cached or not.
func TestRemoteVerifierKIDReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _, r := newRemoteEnv(t)
	kid := e.key.ID()
	old := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
	if _, err := r.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	// Rebuild the issuer's set: a new key under the same ID.
	tmp := mustKey(t, EdDSA)
	if err := e.keys.Rotate(tmp); err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Remove(kid); err != nil {
		t.Fatal(err)
	}
	reused, err := NewKey(EdDSA, mustKey(t, EdDSA).signer, kid)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Rotate(reused); err != nil {
		t.Fatal(err)
	}
	if err := e.keys.Remove(tmp.ID()); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(ctx, old); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("Verify(token of the replaced key): %v, want ErrTokenInvalid", err)
	}
	if c, err := r.Verify(ctx, fresh); err != nil || c.Subject != "bob" {
		t.Errorf("Verify(token of the new key) = %v, %v", c, err)
	}
}

// TestRemoteVerifierRefetchRace: a request that read the key set just
// before another request's refetch installed the issuer's new key must use
// that new set, not be refused because a refetch happened a moment ago.
func TestRemoteVerifierRefetchRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, srv, r := newRemoteEnv(t)
	e.clock.Add(2 * time.Minute)
	if err := e.keys.Rotate(mustKey(t, EdDSA)); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})
	stale := r.cur.Load()
	// Another request's refetch completes ...
	if _, err := r.Verify(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	// ... while this one still holds the set it read before.
	var once sync.Once
	r.v.snap = func() *keySnapshot {
		s := r.cur.Load()
		once.Do(func() { s = stale })
		return s
	}
	r.v.cache = nil
	if _, err := r.Verify(ctx, fresh); err != nil {
		t.Errorf("Verify with a set read just before a refetch: %v", err)
	}
	if got := srv.hits.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2", got)
	}
}

// TestCacheDoesNotPinRequestMemory: the token the middleware hands to
// Verify is a substring of the Authorization field (or Cookie field, or
// query), which may be up to a megabyte of padding around a valid token.
// A cache entry keyed by that substring would keep the whole field alive,
// so that size valid tokens could pin size megabytes.
func TestCacheDoesNotPinRequestMemory(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
	field := "Bearer " + strings.Repeat(" ", 1<<16) + raw
	tok, st := parseAuthorization(field)
	if st != credOK || tok != raw {
		t.Fatalf("parseAuthorization = %.20q, %v", tok, st)
	}
	check := func(when string) {
		t.Helper()
		tok, _ := parseAuthorization(field[:len(field)-len(raw)] + raw)
		if _, err := e.jwt.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		e.jwt.v.cache.mu.RLock()
		defer e.jwt.v.cache.mu.RUnlock()
		for key := range e.jwt.v.cache.m {
			if unsafe.StringData(key) == unsafe.StringData(tok) {
				t.Errorf("%s: the cache key shares memory with the request's Authorization field", when)
			}
		}
	}
	check("first verification")
	// A key set change makes the entry stale; verifying again replaces
	// it, and a map assignment replaces the key too.
	if err := e.keys.Add(mustKey(t, EdDSA)); err != nil {
		t.Fatal(err)
	}
	check("entry replaced")
}

// TestECDSASignatureMalleability documents what canonical base64 cannot
// prevent: (r, n-s) is a second valid ECDSA signature of the same token.
// It carries the same claims, so nothing is forged, but code that
// identifies tokens by their bytes (a deny list of raw tokens) must use
// "jti" instead.
func TestECDSASignatureMalleability(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, ES256, 0)
	raw := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
	dot := strings.LastIndexByte(raw, '.')
	sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
	if err != nil {
		t.Fatal(err)
	}
	n := e.key.pub.(*ecdsa.PublicKey).Curve.Params().N
	s := new(big.Int).SetBytes(sig[32:])
	new(big.Int).Sub(n, s).FillBytes(sig[32:])
	twin := raw[:dot+1] + base64.RawURLEncoding.EncodeToString(sig)
	c1, err1 := e.jwt.Verify(context.Background(), raw)
	c2, err2 := e.jwt.Verify(context.Background(), twin)
	if err1 != nil || err2 != nil || c1.ID != c2.ID || c1.Subject != c2.Subject {
		t.Errorf("Verify(token), Verify(twin) = %v, %v; %v, %v: want the same claims", c1, err1, c2, err2)
	}
}

// TestNewRemoteVerifierRefusesTinyIntervals: a RefreshInterval or
// MinRefetchInterval written as a bare number (15, meant as minutes) is
// nanoseconds, which would make the verifier fetch the JWKS in a tight loop.
func TestNewRemoteVerifierRefusesTinyIntervals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, EdDSA, 0)
	srv := newJWKSServer(t, e.keys)
	for _, cfg := range []RemoteConfig{
		{RefreshInterval: 15},
		{RefreshInterval: 999 * time.Millisecond},
		{MinRefetchInterval: 30},
		{RefreshInterval: -1, MinRefetchInterval: time.Millisecond},
	} {
		cfg.JWKSURL, cfg.Issuer, cfg.Audience = srv.URL, testIssuer, []string{testAudience}
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := NewRemoteVerifier(ctx, cfg); err == nil {
			t.Errorf("NewRemoteVerifier(RefreshInterval %v, MinRefetchInterval %v): error = nil", cfg.RefreshInterval, cfg.MinRefetchInterval)
		}
		cancel()
	}
	if got := srv.hits.Load(); got != 0 {
		t.Errorf("fetches = %d, want 0", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := NewRemoteVerifier(ctx, RemoteConfig{JWKSURL: srv.URL, Issuer: testIssuer, Audience: []string{testAudience}, RefreshInterval: time.Second, MinRefetchInterval: time.Second}); err != nil {
		t.Errorf("NewRemoteVerifier(one second): %v", err)
	}
}

// TestRotateToPublishedKey follows the documented rotation: Add the next
// key first, so that verifiers following the JWKS know it, then Rotate to
// it. Rotate must accept the key it already holds under that ID, and only
// that key.
func TestRotateToPublishedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, alg := range []Algorithm{EdDSA, ES256, RS256, HS256} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, EdDSA, 0)
			old := e.issue(t, Claims{ClientID: testClient, Subject: "alice"})
			next := mustKey(t, alg)
			if fam, _ := alg.family(); fam == famRSA {
				// mustKey shares one RSA key per binary; use a fresh ID.
				next, _ = NewKey(alg, rsaTestKey(), "rsa-next")
			}
			published := next.Public()
			if published == nil { // HMAC: nothing public, add the key itself
				published = next
			}
			if err := e.keys.Add(published); err != nil {
				t.Fatal(err)
			}
			if err := e.keys.Rotate(next); err != nil {
				t.Fatalf("Rotate to the published key: %v", err)
			}
			if got := e.keys.Active(); got != next {
				t.Errorf("Active() = %v, want %v", got, next)
			}
			fresh := e.issue(t, Claims{ClientID: testClient, Subject: "bob"})
			for _, raw := range []string{old, fresh} {
				if _, err := e.jwt.Verify(ctx, raw); err != nil {
					t.Errorf("Verify: %v", err)
				}
			}
		})
	}
	t.Run("another key under the ID", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, EdDSA, 0)
		a, _ := NewKey(EdDSA, mustKey(t, EdDSA).signer, "next")
		b, _ := NewKey(EdDSA, mustKey(t, EdDSA).signer, "next")
		if err := e.keys.Add(a.Public()); err != nil {
			t.Fatal(err)
		}
		if err := e.keys.Rotate(b); err == nil {
			t.Error("Rotate to another key under a published ID: error = nil")
		}
		same, _ := NewKey(ES256, mustKey(t, ES256).signer, "es")
		if err := e.keys.Add(same.Public()); err != nil {
			t.Fatal(err)
		}
		other, _ := NewKey(ES384, mustKey(t, ES384).signer, "es")
		if err := e.keys.Rotate(other); err == nil {
			t.Error("Rotate to a key of another algorithm under a published ID: error = nil")
		}
		if got := e.keys.Active(); got != e.key {
			t.Errorf("Active() = %v after refused rotations, want %v", got, e.key)
		}
	})
}
