package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// FuzzEncodeClaims checks the claims writer against the strict reader:
// whatever it writes must read back as the same claims, and it must refuse,
// not mangle, what it cannot write faithfully.
func FuzzEncodeClaims(f *testing.F) {
	f.Add("alice", "admin", "tenant", []byte(`{"id":7}`), int64(1_800_000_000))
	f.Add("a\"b\\c<d>&\u2028", "ünï", "<n>", []byte(` [1, "}"] `), int64(1))
	f.Add("x\xff", "", "sub", []byte(`{`), int64(-1))
	f.Fuzz(func(t *testing.T, sub, role, name string, value []byte, sec int64) {
		c := Claims{Subject: sub, Roles: []string{role}, IssuedAt: time.Unix(sec, 0), Extra: map[string]json.RawMessage{name: value}}
		data, err := encodeClaims(&c)
		if err != nil {
			return
		}
		if name == "" || registeredClaim(name) || !checkJSON(value) {
			t.Fatalf("encodeClaims accepted Extra[%q] = %q: %s", name, value, data)
		}
		if !utf8.ValidString(sub) || !utf8.ValidString(role) || !utf8.ValidString(name) || !inNumericDateRange(c.IssuedAt) {
			// Issue refuses such strings (encoding/json would replace
			// the bad bytes) and such times (no reader accepts them).
			return
		}
		back, err := decodeClaims(data)
		if err != nil {
			t.Fatalf("decodeClaims(%s): %v", data, err)
		}
		if back.Subject != sub || len(back.Roles) != 1 || back.Roles[0] != role || !back.IssuedAt.Equal(c.IssuedAt) {
			t.Fatalf("read back sub %q, roles %q, iat %v; wrote %q, %q, %v", back.Subject, back.Roles, back.IssuedAt, sub, role, c.IssuedAt)
		}
		var want, got any
		if json.Unmarshal(value, &want) != nil || json.Unmarshal(back.Extra[name], &got) != nil || fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
			t.Fatalf("Extra[%q] read back as %s, wrote %s", name, back.Extra[name], value)
		}
	})
}
