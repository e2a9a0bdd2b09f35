package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and
// must return either claims that passed every check or a classified error.
func FuzzVerify(f *testing.F) {
	e := newTestEnv(f, HS256, 0)
	valid := e.issue(f, Claims{ClientID: testClient, Subject: "alice", Roles: []string{"a"}, Scope: []string{"s"}})
	parts := strings.Split(valid, ".")
	f.Add(valid)
	f.Add("")
	f.Add("..")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(b64s(`{"alg":"none"}`) + "." + parts[1] + ".")
	f.Add(`{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`)
	f.Add(forge(f, e.key, hdr(HS256, e.key.ID()), payload(`"x":{"y":[1,"]}",{"z":"\""}]}`)))
	f.Add(forge(f, e.key, hdr(HS256, e.key.ID()), `{"exp":1e400,"sub":"\ud800"}`))
	f.Add(forge(f, e.key, `{"alg":"HS256","kid":"`+e.key.ID()+`","typ":"at+jwt","crit":[]}`, payload("")))
	f.Add(forge(f, e.key, `{"alg":"HS256","kid":"`+e.key.ID()+`","typ":"at+jwt","cty":"JWT"}`, payload("")))
	f.Add(forge(f, e.key, hdr(HS256, e.key.ID()), payloadWithout([]string{"iat", "jti", "client_id"}, "")))
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := e.jwt.Verify(context.Background(), raw)
		if err != nil {
			if c != nil {
				t.Fatalf("Verify: claims %+v with error %v", c, err)
			}
			if !errors.Is(err, ErrTokenMalformed) && !errors.Is(err, ErrTokenInvalid) &&
				!errors.Is(err, ErrTokenExpired) && !errors.Is(err, ErrTokenNotYetValid) {
				t.Fatalf("Verify: unclassified error %v", err)
			}
			if strings.ContainsAny(err.Error(), `"\`) {
				t.Fatalf("Verify: error %q contains a quote or backslash", err)
			}
			return
		}
		if c.Subject == "" || c.Issuer != testIssuer || c.ExpiresAt.Before(testT0.Add(-time.Minute)) ||
			c.IssuedAt.IsZero() || c.ID == "" || c.ClientID == "" {
			t.Fatalf("Verify accepted bad claims %+v", c)
		}
	})
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

// FuzzClaims feeds arbitrary payloads to the strict claims reader, which
// Verify reaches only after a valid signature.
func FuzzClaims(f *testing.F) {
	f.Add([]byte(payload(`"roles":["a","b"],"scope":"x y","x":{"a":[1,"}"]}`)))
	f.Add([]byte(`{"sub":"a","s\u0075b":"b"}`))
	f.Add([]byte(`{"exp":1.5e9,"aud":["a",1]}`))
	f.Add([]byte(` [] `))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeClaims(data)
		if err == nil && c == nil {
			t.Fatal("decodeClaims: nil claims without error")
		}
		if err == nil {
			for name := range c.Extra {
				if registeredClaim(name) {
					t.Fatalf("decodeClaims: registered claim %q in Extra", name)
				}
			}
		}
	})
}

// FuzzParseRemoteSet feeds arbitrary documents to the reader of fetched JWK
// Sets: it must never panic, never return a key that can sign, and refuse
// every set in which encoding/json sees a key with private key material.
func FuzzParseRemoteSet(f *testing.F) {
	ed := mustKey(f, EdDSA)
	ec := mustKey(f, ES256)
	edJWK, _ := publicJWK(ed)
	ecJWK, _ := publicJWK(ec)
	f.Add([]byte(`{"keys":[` + string(edJWK) + `,` + string(ecJWK) + `]}`))
	f.Add([]byte(`{"keys":[` + strings.Replace(string(edJWK), "{", `{"d":"AAAA",`, 1) + `]}`))
	f.Add([]byte(`{"keys":[` + strings.Replace(string(ecJWK), "{", `{"key_ops":["sign"],`, 1) + `]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA","kid":"x","alg":"HS256"}]}`))
	f.Add([]byte(`{"keys":[{"\u0064":"x"},1,"s",[],null]}`))
	f.Add([]byte(`{"keys":[],"keys":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := parseRemoteSet(body)
		if err != nil {
			if keys != nil {
				t.Fatalf("parseRemoteSet: keys %v with error %v", keys, err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("parseRemoteSet: no keys and no error")
		}
		for kid, k := range keys {
			if k.CanSign() || k.pub == nil || k.kid != kid {
				t.Fatalf("parseRemoteSet: key %q = %v, want a public key under its own ID", kid, k)
			}
		}
		var doc map[string]json.RawMessage
		var set []map[string]json.RawMessage
		if json.Unmarshal(body, &doc) != nil || json.Unmarshal(doc["keys"], &set) != nil {
			return
		}
		for _, jk := range set {
			for _, m := range privateMembers {
				if _, ok := jk[m]; ok {
					t.Fatalf("parseRemoteSet accepted a set with private member %q", m)
				}
			}
		}
	})
}
