package jwtauth

import "testing"

// TestGrammarChars checks the table against the ABNF it encodes.
func TestGrammarChars(t *testing.T) {
	t.Parallel()
	for c := 0; c < 256; c++ {
		// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
		token := c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
		// RFC 6750 §3: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )
		attr := token || c == 0x20
		if got := isToken(string([]byte{byte(c)})); got != token {
			t.Errorf("isToken(%#x) = %v, want %v", c, got, token)
		}
		if got := grammarChars[c]&charToken != 0; got != token {
			t.Errorf("token class of %#x = %v, want %v", c, got, token)
		}
		if got := grammarChars[c]&charAttr != 0; got != attr {
			t.Errorf("attribute class of %#x = %v, want %v", c, got, attr)
		}
	}
}

func TestCleanAttr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"The access token expired", "The access token expired"},
		{"a\"p\\i\n", "api"},
		{"bad \"x\"\r\n\\é", "bad x"},
		{"\x00\x7f\xff", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := cleanAttr(tc.in); got != tc.want {
				t.Errorf("cleanAttr(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { cleanAttr(descInvalidToken) }); n != 0 {
		t.Errorf("cleanAttr(clean text): %v allocations, want 0", n)
	}
}

// TestDescriptionsNeedNoCleaning: every fixed description and code is made
// of attribute characters only.
func TestDescriptionsNeedNoCleaning(t *testing.T) {
	t.Parallel()
	for _, d := range []string{
		descAuthRequired, descMalformedCredential, descMultipleCredentials, descInvalidToken,
		descExpiredToken, descRevokedToken, descUnavailable, DescInsufficientRole, DescInsufficientScope,
		CodeInvalidRequest, CodeInvalidToken, CodeInsufficientScope, CodeTemporarilyUnavailable, DefaultRealm,
	} {
		if d == "" || cleanAttr(d) != d {
			t.Errorf("%q is not made of attribute characters only", d)
		}
	}
}

func TestKeyIDGrammar(t *testing.T) {
	t.Parallel()
	secret := make([]byte, 32)
	for _, kid := range []string{"a b", `a"b`, `a\b`, "a\x00", "é"} {
		if _, err := NewKey(HS256, secret, kid); err == nil {
			t.Errorf("NewKey(kid %q): error = nil, want error", kid)
		}
	}
	if _, err := NewKey(HS256, secret, "key-2025_01.~!#$%&'()*+,/:;<=>?@[]^`{|}"); err != nil {
		t.Errorf("NewKey(kid of token characters): %v", err)
	}
}
