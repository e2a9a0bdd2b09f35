package jwtauth

import "strings"

// IsScopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII without space, '"' or
// '\'. Only such scopes can be issued, required or sent in a challenge.
// Key IDs follow the same grammar.
func IsScopeToken(s string) bool { return isToken(s) }

// splitScope splits a "scope" value into its scope tokens. RFC 6749 §3.3
// separates them with SP (%x20) only: any other white space stays inside a
// token, which then matches no scope, rather than splitting one granted
// value into several. Empty parts are dropped; the result has no spare
// capacity.
func splitScope(s string) []string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && (i == 0 || s[i-1] == ' ') {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for part := range strings.SplitSeq(s, " ") {
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}
