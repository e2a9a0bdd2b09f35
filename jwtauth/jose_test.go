package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func TestVerifyAcceptsJWXSignedToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, ES256, -1)
	h := jws.NewHeaders()
	h.Set(jws.KeyIDKey, e.key.ID())
	h.Set(jws.TypeKey, "application/AT+JWT")
	raw, err := jws.Sign([]byte(payload(`"scope":"a  b"`)), jws.WithKey(jwa.ES256, e.key.signer, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.jwt.Verify(context.Background(), string(raw))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := strings.Join(c.Scope, ","); got != "a,b" {
		t.Errorf("Verify: scope = %q, want a,b", got)
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

// TestAlgorithmConfusionRSA: an HS256 token keyed with an RSA public key's
// bytes (PEM, PKIX DER, PKCS #1 DER or JWK JSON) must fail, whatever kid it
// names.
func TestAlgorithmConfusionRSA(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, RS256, -1)
	pub := &rsaTestKey().PublicKey
	pkix, _ := x509.MarshalPKIXPublicKey(pub)
	pkcs1 := x509.MarshalPKCS1PublicKey(pub)
	jk, _ := jwk.FromRaw(pub)
	jkJSON, _ := json.Marshal(jk)
	secrets := map[string][]byte{
		"PEM":          pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}),
		"PKCS1 PEM":    pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1}),
		"PKIX DER":     pkix,
		"PKCS1 DER":    pkcs1,
		"JWK JSON":     jkJSON,
		"modulus only": pub.N.Bytes(),
	}
	for name, secret := range secrets {
		for _, kid := range []string{e.key.ID(), "", "hmac"} {
			t.Run(name+"/kid="+kid, func(t *testing.T) {
				h := `{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"}`
				in := b64s(h) + "." + b64s(payload(""))
				raw := in + "." + base64.RawURLEncoding.EncodeToString(hmacSign(HS256, secret, []byte(in)))
				if _, err := e.jwt.Verify(context.Background(), raw); !errors.Is(err, ErrTokenInvalid) {
					t.Errorf("Verify: error = %v, want ErrTokenInvalid", err)
				}
			})
		}
	}
	// The same claims signed properly verify: the rows above fail on the
	// algorithm, nothing else.
	if _, err := e.jwt.Verify(context.Background(), forge(t, e.key, hdr(RS256, e.key.ID()), payload(""))); err != nil {
		t.Errorf("Verify(RS256): %v", err)
	}
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

// FuzzHeader feeds arbitrary header segments to the strict header reader.
func FuzzHeader(f *testing.F) {
	f.Add(b64s(`{"alg":"HS256","kid":"k","typ":"at+jwt"}`))
	f.Add(b64s(`{"alg":"HS256","alg":"none"}`))
	f.Add(b64s(`{"a\u006cg":"x","crit":["b64"]}`))
	f.Add(b64s(`[{}]`))
	f.Fuzz(func(t *testing.T, seg string) {
		_, err := parseHeader(seg)
		if err != nil && !errors.Is(err, ErrTokenMalformed) && !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("parseHeader: unclassified error %v", err)
		}
	})
}

// TestSignVerifyCompact runs both directions of the JWS layer on their own:
// what sign writes, verifyCompact accepts with the signing key's snapshot,
// returning the exact payload; a change to any segment, or a key set
// without the key, is refused.
func TestSignVerifyCompact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	payload := []byte(`{"sub":"alice","n":[1,2]}`)
	for _, alg := range []Algorithm{HS256, HS384, HS512, RS256, PS256, ES256, ES384, ES512, EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			k := mustKey(t, alg)
			ks, err := NewKeySet(k)
			if err != nil {
				t.Fatal(err)
			}
			snap := ks.snapshot()
			var v verifier
			raw, err := sign(k, payload)
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			got, gotSnap, err := v.verifyCompact(ctx, raw, snap)
			if err != nil || string(got) != string(payload) || gotSnap != snap {
				t.Fatalf("verifyCompact = %s, %p, %v; want %s, %p, nil", got, gotSnap, err, payload, snap)
			}
			h, err := parseHeader(raw[:strings.IndexByte(raw, '.')])
			if err != nil || h.alg != string(alg) || h.kid != k.ID() || h.typ != "at+jwt" {
				t.Errorf("header = %+v, %v; want alg %s, kid %s, typ at+jwt", h, err, alg, k.ID())
			}
			parts := strings.Split(raw, ".")
			for i := range parts {
				edited := slices.Clone(parts)
				seg := []byte(edited[i])
				if c := &seg[len(seg)/2]; *c == 'A' {
					*c = 'B'
				} else {
					*c = 'A'
				}
				edited[i] = string(seg)
				if p, _, err := v.verifyCompact(ctx, strings.Join(edited, "."), snap); err == nil {
					t.Errorf("verifyCompact(segment %d edited) = %s, want error", i, p)
				}
			}
			other, err := NewKeySet(mustKey(t, EdDSA))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := v.verifyCompact(ctx, raw, other.snapshot()); !errors.Is(err, errUnknownKID) {
				t.Errorf("verifyCompact(another key set): error = %v, want %v", err, errUnknownKID)
			}
		})
	}

	t.Run("refetch supplies the key", func(t *testing.T) {
		t.Parallel()
		k := mustKey(t, EdDSA)
		with, _ := NewKeySet(k)
		without, _ := NewKeySet(mustKey(t, EdDSA))
		calls := 0
		v := verifier{refetch: func(_ context.Context, seen *keySnapshot) *keySnapshot {
			calls++
			if seen != without.snapshot() {
				t.Errorf("refetch: seen = %p, want the snapshot that lacked the key", seen)
			}
			return with.snapshot()
		}}
		raw, err := sign(k, payload)
		if err != nil {
			t.Fatal(err)
		}
		got, snap, err := v.verifyCompact(ctx, raw, without.snapshot())
		if err != nil || string(got) != string(payload) || snap != with.snapshot() || calls != 1 {
			t.Errorf("verifyCompact = %s, %p, %v after %d refetches; want the payload, the refetched snapshot %p, 1 refetch", got, snap, err, calls, with.snapshot())
		}
	})

	t.Run("a key that cannot sign", func(t *testing.T) {
		t.Parallel()
		pub := mustKey(t, EdDSA).Public()
		if raw, err := sign(pub, payload); err == nil {
			t.Errorf("sign(public key) = %.20q..., want error", raw)
		}
	})
}
