package jwtauth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"
)

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

// TestParseKeysPEMBlocks: PEM data with several or unusual blocks.
func TestParseKeysPEMBlocks(t *testing.T) {
	t.Parallel()
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
			keys, err := ParseKeys(tc.data)
			if (err == nil) != tc.ok {
				t.Errorf("ParseKeys = %v, %v; want ok %v", keys, err, tc.ok)
			}
		})
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

func TestGenerateKeyUnsupported(t *testing.T) {
	t.Parallel()
	for _, alg := range []Algorithm{"", "none", "HS1", "es256", "RSA-OAEP"} {
		if k, err := GenerateKey(alg); err == nil {
			t.Errorf("GenerateKey(%q) = %v, want error", alg, k)
		}
	}
}
