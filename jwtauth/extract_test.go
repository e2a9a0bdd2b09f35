package jwtauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func (s credStatus) String() string {
	switch s {
	case credNone:
		return "none"
	case credOK:
		return "ok"
	case credMalformed:
		return "malformed"
	case credMultiple:
		return "multiple"
	}
	return "invalid credStatus"
}

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		want   credStatus
		token  string
	}{
		{"empty", "", credNone, ""},
		{"white space only", " \t ", credNone, ""},
		{"canonical", "Bearer abc.def-ghi_jkl", credOK, "abc.def-ghi_jkl"},
		{"lower case scheme", "bearer abc", credOK, "abc"},
		{"upper case scheme", "BEARER abc", credOK, "abc"},
		{"mixed case scheme", "bEaReR abc", credOK, "abc"},
		{"several spaces", "Bearer    abc", credOK, "abc"},
		{"surrounding white space", " \tBearer abc\t ", credOK, "abc"},
		{"every b64token character", "Bearer azAZ09-._~+/==", credOK, "azAZ09-._~+/=="},
		{"padding", "Bearer abc=", credOK, "abc="},
		{"basic", "Basic dXNlcjpwYXNz", credNone, ""},
		{"digest", `Digest username="u", realm="r"`, credNone, ""},
		{"bare token", "eyJhbGciOiJFZERTQSJ9.e30.c2ln", credNone, ""},
		{"scheme glued to token", "Bearerabc", credNone, ""},
		{"longer scheme", "Bearers abc", credNone, ""},
		{"look-alike scheme", "Beаrer abc", credNone, ""}, // Cyrillic а
		{"scheme only", "Bearer", credMalformed, ""},
		{"scheme and space", "Bearer ", credMalformed, ""},
		{"tab separator", "Bearer\tabc", credMalformed, ""},
		{"space inside token", "Bearer abc def", credMalformed, ""},
		{"tab inside token", "Bearer abc\tdef", credMalformed, ""},
		{"two credentials in one field", "Bearer a, Bearer b", credMalformed, ""},
		{"comma", "Bearer a,b", credMalformed, ""},
		{"quoted", `Bearer "abc"`, credMalformed, ""},
		{"auth-param form", `Bearer token="abc"`, credMalformed, ""},
		{"semicolon", "Bearer a;b", credMalformed, ""},
		{"non-ASCII", "Bearer abcé", credMalformed, ""},
		{"NUL", "Bearer abc\x00", credMalformed, ""},
		{"padding only", "Bearer ==", credMalformed, ""},
		{"padding inside", "Bearer a=b", credMalformed, ""},
		{"backslash", `Bearer a\b`, credMalformed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, st := parseAuthorization(tc.header)
			if st != tc.want || tok != tc.token {
				t.Errorf("parseAuthorization(%q) = %q, %v; want %q, %v", tc.header, tok, st, tc.token, tc.want)
			}
		})
	}
}

func TestQueryParam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw    string
		val    string
		n      int
		wantOK bool
	}{
		{"", "", 0, false},
		{"x=1", "", 0, false},
		{"access_token=abc", "abc", 1, true},
		{"x=1&access_token=abc&y=2", "abc", 1, true},
		{"access_token=a&access_token=b", "b", 2, true},
		{"access%5Ftoken=abc", "abc", 1, true},
		{"access_token=a%2Bb", "a+b", 1, true},
		{"access_token=a+b", "a b", 1, true},
		{"access_token=%zz", "", 1, false},
		{"access_token", "", 1, true},
		{"access_token=", "", 1, true},
		{"access_token;x=abc", "", 0, false},
		{"%zz=1&access_token=abc", "abc", 1, true},
		{"ACCESS_TOKEN=abc", "", 0, false},
		{"&&access_token=abc&&", "abc", 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			t.Parallel()
			val, n, ok := queryParam(tc.raw, accessTokenParam)
			if val != tc.val || n != tc.n || ok != tc.wantOK {
				t.Errorf("queryParam(%q) = %q, %d, %v; want %q, %d, %v", tc.raw, val, n, ok, tc.val, tc.n, tc.wantOK)
			}
		})
	}
}

func TestExtractCredential(t *testing.T) {
	t.Parallel()
	type source struct {
		cookie string
		query  bool
	}
	var (
		none   = source{}
		cookie = source{cookie: "at"}
		query  = source{query: true}
	)
	tests := []struct {
		name    string
		src     source
		headers []string // Authorization field values
		cookies []string // Cookie field values
		query   string
		form    url.Values // already-parsed PostForm
		want    credStatus
		token   string
		from    credSource
	}{
		{name: "nothing", src: none, want: credNone},
		{name: "header", src: none, headers: []string{"Bearer abc"}, want: credOK, token: "abc", from: srcHeader},
		{name: "two header fields", src: none, headers: []string{"Bearer abc", "Bearer abc"}, want: credMultiple},
		{name: "two header fields, one basic", src: none, headers: []string{"Basic dTpw", "Bearer abc"}, want: credMultiple},
		{name: "basic", src: none, headers: []string{"Basic dTpw"}, want: credNone},
		{name: "malformed header", src: none, headers: []string{"Bearer "}, want: credMalformed},

		{name: "cookie ignored when disabled", src: none, cookies: []string{"at=abc"}, want: credNone},
		{name: "cookie", src: cookie, cookies: []string{"x=1; at=abc"}, want: credOK, token: "abc", from: srcCookie},
		{name: "empty cookie is absent", src: cookie, cookies: []string{"at="}, want: credNone},
		{name: "two cookies", src: cookie, cookies: []string{"at=abc; at=def"}, want: credMultiple},
		{name: "malformed cookie", src: cookie, cookies: []string{"at=a=b"}, want: credMalformed},
		{name: "header and cookie", src: cookie, headers: []string{"Bearer abc"}, cookies: []string{"at=abc"}, want: credMultiple},
		{name: "basic header and cookie", src: cookie, headers: []string{"Basic dTpw"}, cookies: []string{"at=abc"}, want: credOK, token: "abc", from: srcCookie},

		{name: "query ignored when disabled", src: none, query: "access_token=abc", want: credNone},
		{name: "header and disabled query", src: none, headers: []string{"Bearer abc"}, query: "access_token=abc", want: credMultiple},
		{name: "query", src: query, query: "x=1&access_token=abc", want: credOK, token: "abc", from: srcQuery},
		{name: "empty query token", src: query, query: "access_token=", want: credMalformed},
		{name: "undecodable query token", src: query, query: "access_token=%zz", want: credMalformed},
		{name: "query token with space", src: query, query: "access_token=a+b", want: credMalformed},
		{name: "two query tokens", src: query, query: "access_token=a&access_token=b", want: credMultiple},
		{name: "header and query", src: query, headers: []string{"Bearer abc"}, query: "access_token=abc", want: credMultiple},
		{name: "cookie and query", src: source{cookie: "at", query: true}, cookies: []string{"at=abc"}, query: "access_token=abc", want: credMultiple},

		{name: "form body alone", src: none, form: url.Values{"access_token": {"abc"}}, want: credNone},
		{name: "header and form body", src: none, headers: []string{"Bearer abc"}, form: url.Values{"access_token": {"abc"}}, want: credMultiple},
		{name: "header and other form fields", src: none, headers: []string{"Bearer abc"}, form: url.Values{"x": {"1"}}, want: credOK, token: "abc", from: srcHeader},

		{name: "malformed header and query", src: query, headers: []string{"Bearer"}, query: "access_token=abc", want: credMultiple},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/?"+tc.query, nil)
			for _, h := range tc.headers {
				r.Header.Add("Authorization", h)
			}
			for _, c := range tc.cookies {
				r.Header.Add("Cookie", c)
			}
			r.PostForm = tc.form
			tok, from, st := extractCredential(r, tc.src.cookie, tc.src.query)
			if st != tc.want || tok != tc.token || from != tc.from {
				t.Errorf("extractCredential = %q, %d, %v; want %q, %d, %v", tok, from, st, tc.token, tc.from, tc.want)
			}
		})
	}
}

// refBearer is a reference implementation of parseAuthorization built from
// the grammar with regular expressions.
var (
	refBearerOK  = regexp.MustCompile(`(?i)^bearer +([A-Za-z0-9._~+/-]+=*)$`)
	refBearerAny = regexp.MustCompile(`(?i)^bearer([ \t]|$)`)
)

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"", "Bearer abc", "bearer  abc==", "Basic dTpw", "Bearer", "Bearer a, Bearer b",
		"Bearer\tx", " Bearer x ", "Bearer \"x\"", "Bearer é", "eyJ.e30.c2ln", "BEARER a=b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, st := parseAuthorization(header)
		trimmed := strings.Trim(header, " \t")
		wantSt, wantTok := credNone, ""
		if m := refBearerOK.FindStringSubmatch(trimmed); m != nil {
			wantSt, wantTok = credOK, m[1]
		} else if refBearerAny.MatchString(trimmed) {
			wantSt = credMalformed
		}
		if st != wantSt || tok != wantTok {
			t.Fatalf("parseAuthorization(%q) = %q, %v; want %q, %v", header, tok, st, wantTok, wantSt)
		}
		if st == credOK {
			if again, st2 := parseAuthorization("Bearer " + tok); again != tok || st2 != credOK {
				t.Fatalf("parseAuthorization(%q) = %q, %v; want %q, ok", "Bearer "+tok, again, st2, tok)
			}
		}
	})
}

func FuzzExtractCredential(f *testing.F) {
	f.Add("Bearer abc", "", "at=abc", "access_token=abc", true, true)
	f.Add("Bearer abc", "Bearer def", "", "", false, false)
	f.Add("", "", "at=a; at=b", "access_token=%zz&access_token=", true, true)
	f.Fuzz(func(t *testing.T, h1, h2, cookie, rawQuery string, useCookie, query bool) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = rawQuery
		for _, h := range []string{h1, h2} {
			if h != "" {
				r.Header.Add("Authorization", h)
			}
		}
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		name := ""
		if useCookie {
			name = "at"
		}
		tok, src, st := extractCredential(r, name, query)
		switch st {
		case credOK:
			if !isB64Token(tok) || src == srcNone {
				t.Fatalf("extractCredential = %q, %d, ok; want a b64token and a source", tok, src)
			}
		case credNone, credMalformed, credMultiple:
			if tok != "" || src != srcNone {
				t.Fatalf("extractCredential = %q, %d, %v; want no token", tok, src, st)
			}
		default:
			t.Fatalf("extractCredential status = %d, want a defined outcome", st)
		}
	})
}

func TestIsB64TokenChar(t *testing.T) {
	t.Parallel()
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
	for c := range 256 {
		if got, want := isB64TokenChar(byte(c)), strings.IndexByte(set, byte(c)) >= 0; got != want {
			t.Errorf("isB64TokenChar(%q) = %v, want %v", rune(c), got, want)
		}
	}
}

func BenchmarkParseAuthorization(b *testing.B) {
	h := "Bearer " + strings.Repeat("eyJhbGciOiJFZERTQSIsImtpZCI6Ij", 13) + "."
	b.SetBytes(int64(len(h)))
	b.ReportAllocs()
	for b.Loop() {
		if _, st := parseAuthorization(h); st != credOK {
			b.Fatal(st)
		}
	}
}

// isB64TokenChar reports whether c may appear in a b64token before the
// padding: ALPHA, DIGIT, "-", ".", "_", "~", "+" or "/".
func isB64TokenChar(c byte) bool { return b64TokenChars[c] == '1' }
