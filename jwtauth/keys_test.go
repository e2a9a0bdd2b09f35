package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestNewKeyRefusesWeakOrMismatched(t *testing.T) {
	t.Parallel()
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		alg  Algorithm
		key  any
	}{
		{"HS256 secret of 31 bytes", HS256, make([]byte, 31)},
		{"HS256 secret of 1 byte", HS256, []byte{1}},
		{"HS384 secret of 32 bytes", HS384, make([]byte, 32)},
		{"HS512 secret of 48 bytes", HS512, make([]byte, 48)},
		{"RSA 1024", RS256, rsa1024},
		{"PS256 RSA 1024", PS256, rsa1024},
		{"ES256 on P-384", ES256, ec384},
		{"ES384 on P-256", ES384, ec256},
		{"ES256 with Ed25519", ES256, ed},
		{"EdDSA with ECDSA", EdDSA, ec256},
		{"RS256 with ECDSA", RS256, ec256},
		{"HS256 with ECDSA", HS256, ec256},
		{"ES256 with secret", ES256, make([]byte, 64)},
		{"none", "none", make([]byte, 64)},
		{"unknown alg", "HS1", make([]byte, 64)},
		{"unsupported type", EdDSA, "key"},
		{"public key", EdDSA, ed.Public()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if k, err := NewKey(tc.alg, tc.key, ""); err == nil {
				t.Errorf("NewKey(%s): %v, want error", tc.alg, k)
			}
		})
	}
	t.Run("public", func(t *testing.T) {
		if _, err := NewPublicKey(RS256, &rsa1024.PublicKey, ""); err == nil {
			t.Error("NewPublicKey(RSA 1024): error = nil, want error")
		}
		if _, err := NewPublicKey(HS256, make([]byte, 32), ""); err == nil {
			t.Error("NewPublicKey(HS256): error = nil, want error")
		}
		if _, err := NewPublicKey(ES384, &ec256.PublicKey, ""); err == nil {
			t.Error("NewPublicKey(ES384, P-256): error = nil, want error")
		}
	})
	t.Run("bad kid", func(t *testing.T) {
		for _, kid := range []string{"a b", `a"b`, "a\\b", "é", strings.Repeat("k", 129)} {
			if _, err := NewKey(HS256, make([]byte, 32), kid); err == nil {
				t.Errorf("NewKey(kid %q): error = nil, want error", kid)
			}
		}
	})
}

func TestKeyIDsAreDerivedAndStable(t *testing.T) {
	t.Parallel()
	secret := make([]byte, 32)
	rand.Read(secret)
	a, _ := NewKey(HS256, secret, "")
	b, _ := NewKey(HS256, secret, "")
	if a.ID() != b.ID() || a.ID() == "" {
		t.Errorf("HMAC kid = %q and %q, want equal and non-empty", a.ID(), b.ID())
	}
	if strings.Contains(a.ID(), string(secret)) {
		t.Error("HMAC kid contains the secret")
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := NewKey(EdDSA, ed, "")
	jk, _ := jwk.FromRaw(ed.Public())
	jwk.AssignKeyID(jk)
	if k.ID() != jk.KeyID() {
		t.Errorf("Ed25519 kid = %q, want RFC 7638 thumbprint %q", k.ID(), jk.KeyID())
	}
	if p := k.Public(); p.ID() != k.ID() || p.CanSign() || p.Algorithm() != EdDSA {
		t.Errorf("Public() = %v", p)
	}
	if a.Public() != nil {
		t.Error("HMAC Public() != nil")
	}
}

func TestKeyFormattingHidesMaterial(t *testing.T) {
	t.Parallel()
	k := mustKey(t, HS256)
	secretHex := fmt.Sprintf("%x", k.secret)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "k", k)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), fmt.Sprintf("%v", *k), logged.String()} {
		if strings.Contains(s, secretHex) || strings.Contains(s, fmt.Sprint(k.secret)) {
			t.Errorf("formatted key %q shows the secret", s)
		}
	}
}

func pemOf(t *testing.T, typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseKeysPEM(t *testing.T) {
	t.Parallel()
	rk := rsaTestKey()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, ed, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf(t, "PRIVATE KEY", der)
	}
	pkix := func(k any) []byte {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf(t, "PUBLIC KEY", der)
	}
	sec1, _ := x509.MarshalECPrivateKey(ec)
	tests := []struct {
		name    string
		data    []byte
		alg     Algorithm
		wantAlg Algorithm
		canSign bool
	}{
		{"PKCS8 Ed25519", pkcs8(ed), "", EdDSA, true},
		{"PKCS8 P-256", pkcs8(ec), "", ES256, true},
		{"PKCS8 P-521", pkcs8(ec521), "", ES512, true},
		{"PKCS8 RSA", pkcs8(rk), "", RS256, true},
		{"PKCS1 RSA", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk)), "", RS256, true},
		{"SEC1 EC with parameters", append(pemOf(t, "EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}), pemOf(t, "EC PRIVATE KEY", sec1)...), "", ES256, true},
		{"PKIX Ed25519", pkix(edPub), "", EdDSA, false},
		{"PKIX RSA", pkix(&rk.PublicKey), "", RS256, false},
		{"PKCS1 RSA public", pemOf(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rk.PublicKey)), "", RS256, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := ParseKeys(tc.data)
			if err != nil || len(keys) != 1 {
				t.Fatalf("ParseKeys = %v, %v; want one key", keys, err)
			}
			if k := keys[0]; k.Algorithm() != tc.wantAlg || k.CanSign() != tc.canSign || k.ID() == "" {
				t.Errorf("ParseKeys: alg, canSign, kid = %s, %v, %q; want %s, %v, non-empty", k.Algorithm(), k.CanSign(), k.ID(), tc.wantAlg, tc.canSign)
			}
		})
	}
	bad := []struct {
		name string
		data []byte
		alg  Algorithm
	}{
		{"empty", nil, ""},
		{"not PEM", []byte("hello"), ""},
		{"garbage DER", pemOf(t, "PRIVATE KEY", []byte{1, 2, 3}), ""},
		{"two keys", append(pkcs8(ed), pkcs8(ec)...), ""},
		{"encrypted", pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1}), ""},
		{"certificate only", pemOf(t, "CERTIFICATE", []byte{1}), ""},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.name, func(t *testing.T) {
			if k, err := ParseKeys(tc.data); err == nil {
				t.Errorf("ParseKeys: %v, want error", k)
			}
		})
	}
}

func TestParseKeysJWK(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edJWK, _ := jwk.FromRaw(ed)
	edJSON, _ := json.Marshal(edJWK)
	pubJWK, _ := jwk.FromRaw(ed.Public())
	pubJWK.Set(jwk.KeyIDKey, "pub-1")
	pubJSON, _ := json.Marshal(pubJWK)
	secret := make([]byte, 32)
	rand.Read(secret)
	oct, _ := jwk.FromRaw(secret)
	octNoAlg, _ := json.Marshal(oct)
	oct.Set(jwk.AlgorithmKey, "HS256")
	octJSON, _ := json.Marshal(oct)
	short, _ := jwk.FromRaw(secret[:16])
	short.Set(jwk.AlgorithmKey, "HS256")
	shortJSON, _ := json.Marshal(short)

	keys, err := ParseKeys([]byte(`{"keys":[` + string(edJSON) + `,` + string(pubJSON) + `,` + string(octJSON) + `]}`))
	if err != nil {
		t.Fatalf("ParseKeys(set): %v", err)
	}
	if len(keys) != 3 || keys[0].Algorithm() != EdDSA || !keys[0].CanSign() || keys[1].ID() != "pub-1" || keys[1].CanSign() || keys[2].Algorithm() != HS256 || !keys[2].CanSign() {
		t.Errorf("ParseKeys(set) = %v", keys)
	}
	if keys, err := ParseKeys(edJSON); err != nil || len(keys) != 1 {
		t.Errorf("ParseKeys(single) = %v, %v; want one key", keys, err)
	}
	for name, data := range map[string]string{
		"oct without alg": string(octNoAlg),
		"oct too short":   string(shortJSON),
		"not JSON":        "{",
		"empty set":       `{"keys":[]}`,
		"enc key":         strings.Replace(string(pubJSON), `{`, `{"use":"enc",`, 1),
		"duplicate kid":   `{"keys":[` + string(pubJSON) + `,` + string(pubJSON) + `]}`,
		"alg none":        strings.Replace(string(pubJSON), `{`, `{"alg":"none",`, 1),
		"alg mismatching": strings.Replace(string(pubJSON), `{`, `{"alg":"ES256",`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			if keys, err := ParseKeys([]byte(data)); err == nil {
				t.Errorf("ParseKeys: %v, want error", keys)
			}
		})
	}
}

func TestParseKeysFromFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ed)
	pemPath := filepath.Join(dir, "key.pem")
	os.WriteFile(pemPath, pemOf(t, "PRIVATE KEY", der), 0o600)
	secret := make([]byte, 64)
	rand.Read(secret)
	oct, _ := jwk.FromRaw(secret)
	oct.Set(jwk.AlgorithmKey, "HS512")
	oct.Set(jwk.KeyIDKey, "hmac-1")
	octJSON, _ := json.Marshal(oct)
	jsonPath := filepath.Join(dir, "key.json")
	os.WriteFile(jsonPath, append([]byte("\n  "), octJSON...), 0o600)

	read := func(path string) []*Key {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := ParseKeys(data)
		if err != nil {
			t.Fatalf("ParseKeys(%s): %v", filepath.Base(path), err)
		}
		return keys
	}
	if keys := read(pemPath); len(keys) != 1 || keys[0].Algorithm() != EdDSA || !keys[0].CanSign() {
		t.Errorf("ParseKeys(pem) = %v; want one EdDSA signing key", keys)
	}
	keys := read(jsonPath)
	if len(keys) != 1 || keys[0].Algorithm() != HS512 || keys[0].ID() != "hmac-1" {
		t.Errorf("ParseKeys(json) = %v; want one HS512 key hmac-1", keys)
	}
	// The loaded keys sign tokens that verify.
	ks, _ := NewKeySet(keys[0])
	j, _ := New(Config{Keys: ks, Issuer: testIssuer, Audience: []string{testAudience}})
	tok, err := j.Issue(context.Background(), Claims{ClientID: testClient, Subject: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Verify(context.Background(), tok.Raw); err != nil {
		t.Errorf("Verify: %v", err)
	}
	for name, data := range map[string][]byte{"empty": nil, "blank": []byte(" \n"), "zeros": make([]byte, 1024)} {
		if _, err := ParseKeys(data); err == nil {
			t.Errorf("ParseKeys(%s): error = nil, want error", name)
		}
	}
}

// TestKeyMarshalRoundTrip: a key written out with MarshalPEM or MarshalJWK
// is read back by ParseKeys as the same key: same ID, algorithm and
// ability to sign, and it verifies what the original signed.
func TestKeyMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	custom, err := NewKey(PS256, rsaTestKey(), "rsa-pss-2025")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		key    *Key
		pem    bool // MarshalPEM keeps it (inferred algorithm, derived ID)
		public bool
	}{
		{"Ed25519", mustKey(t, EdDSA), true, false},
		{"ECDSA P-256", mustKey(t, ES256), true, false},
		{"ECDSA P-521", mustKey(t, ES512), true, false},
		{"RSA", mustKey(t, RS256), true, false},
		{"RSA-PSS with a chosen ID", custom, false, false},
		{"HMAC", mustKey(t, HS256), false, false},
		{"HMAC SHA-512", mustKey(t, HS512), false, false},
		{"Ed25519 public", mustKey(t, EdDSA).Public(), true, true},
		{"ECDSA P-384 public", mustKey(t, ES384).Public(), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check := func(format string, data []byte) {
				t.Helper()
				keys, err := ParseKeys(data)
				if err != nil || len(keys) != 1 {
					t.Fatalf("ParseKeys(%s) = %v, %v; want one key", format, keys, err)
				}
				got := keys[0]
				if got.ID() != tc.key.ID() || got.Algorithm() != tc.key.Algorithm() || got.CanSign() != tc.key.CanSign() || !got.sameKey(tc.key) {
					t.Errorf("ParseKeys(%s) = %v, want %v", format, got, tc.key)
				}
				if tc.public {
					return
				}
				// The copy signs tokens the original verifies, and the other way round.
				input := []byte(b64s(hdr(tc.key.alg, tc.key.kid)) + "." + b64s(payload("")))
				if !tc.key.verify(input, rawSign(t, got, input)) || !got.verify(input, rawSign(t, tc.key, input)) {
					t.Errorf("ParseKeys(%s): the copy and the original do not verify each other's signatures", format)
				}
			}
			jwkData, err := tc.key.MarshalJWK()
			if err != nil {
				t.Fatalf("MarshalJWK: %v", err)
			}
			var members map[string]any
			if err := json.Unmarshal(jwkData, &members); err != nil {
				t.Fatalf("MarshalJWK: %v", err)
			}
			if members["kid"] != tc.key.ID() || members["alg"] != string(tc.key.Algorithm()) || members["use"] != "sig" {
				t.Errorf("MarshalJWK: kid, alg, use = %v, %v, %v; want %s, %s, sig", members["kid"], members["alg"], members["use"], tc.key.ID(), tc.key.Algorithm())
			}
			_, hasD := members["d"]
			_, hasK := members["k"]
			if tc.public && (hasD || hasK) {
				t.Errorf("MarshalJWK of a public key has private members: %s", jwkData)
			}
			check("JWK", jwkData)

			pemData, err := tc.key.MarshalPEM()
			if tc.key.secret != nil {
				if err == nil {
					t.Errorf("MarshalPEM(HMAC) = %q, want an error", pemData)
				}
				return
			}
			if err != nil {
				t.Fatalf("MarshalPEM: %v", err)
			}
			block, _ := pem.Decode(pemData)
			wantType := "PRIVATE KEY"
			if tc.public {
				wantType = "PUBLIC KEY"
			}
			if block == nil || block.Type != wantType {
				t.Fatalf("MarshalPEM: block %v, want type %q", block, wantType)
			}
			if tc.pem {
				check("PEM", pemData)
			}
		})
	}
}
