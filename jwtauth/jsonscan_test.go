package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

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

// TestEachMemberChecksJSON: eachMember validates its input itself, so no
// caller can hand the scanner a document it would misread. Every row is a
// document the scanner alone would walk: fn must never be called.
func TestEachMemberChecksJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
	}{
		{"missing colon", `{"sub" "admin"}`},
		{"colon replaced", `{"sub","admin"}`},
		{"trailing comma", `{"sub":"a",}`},
		{"missing comma", `{"sub":"a" "roles":["admin"]}`},
		{"bare word value", `{"sub":admin}`},
		{"unterminated string", `{"sub":"a}`},
		{"unterminated object", `{"sub":"a"`},
		{"trailing garbage", `{"sub":"a"}x`},
		{"two objects", `{"sub":"a"}{"sub":"b"}`},
		{"invalid UTF-8 in a value", "{\"sub\":\"a\xff\"}"},
		{"invalid UTF-8 in a name", "{\"\xc3\":1}"},
		{"control character in a string", "{\"sub\":\"a\x01\"}"},
		{"single quotes", `{'sub':'a'}`},
		{"empty", ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := eachMember([]byte(tc.data), func(name, value []byte) error {
				calls++
				return nil
			})
			if err == nil || calls != 0 {
				t.Errorf("eachMember(%q): error = %v after %d calls, want an error and no call", tc.data, err, calls)
			}
		})
	}

	t.Run("valid", func(t *testing.T) {
		var got []string
		err := eachMember([]byte(` {"a" : 1 ,"b\u0063":{"d":[1,"}"]}, "e":"\""} `), func(name, value []byte) error {
			got = append(got, string(name)+"="+string(value))
			return nil
		})
		want := []string{`a=1`, `bc={"d":[1,"}"]}`, `e="\""`}
		if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("eachMember = %q, %v; want %q, nil", got, err, want)
		}
	})
}
