package jwtauth

import "strings"

// grammarChars classifies every byte value for the values that travel in
// WWW-Authenticate challenges, JSON error bodies and token headers, in one
// table, one row of 16 byte values per line:
//
//   - '3', a token character: printable ASCII other than space, '"' and
//     '\' (%x21 / %x23-5B / %x5D-7E), the RFC 6749 §3.3 scope-token
//     character and what key IDs are made of;
//   - '1', space: with the token characters, an attribute character
//     (%x20-21 / %x23-5B / %x5D-7E), the RFC 6750 §3 error_description
//     character and what the realm, error and scope attributes are limited
//     to, so that no value ever needs quoting or JSON escaping;
//   - '0': anything else.
//
// Bit 0 of a value marks an attribute character, bit 1 a token character.
const grammarChars = "" +
	"0000000000000000" + // 0x00
	"0000000000000000" + // 0x10
	"1303333333333333" + // 0x20
	"3333333333333333" + // 0x30
	"3333333333333333" + // 0x40
	"3333333333330333" + // 0x50
	"3333333333333333" + // 0x60
	"3333333333333330" + // 0x70
	"0000000000000000" + // 0x80
	"0000000000000000" + // 0x90
	"0000000000000000" + // 0xa0
	"0000000000000000" + // 0xb0
	"0000000000000000" + // 0xc0
	"0000000000000000" + // 0xd0
	"0000000000000000" + // 0xe0
	"0000000000000000" // 0xf0

const (
	charAttr  = 1
	charToken = 2
)

// isToken reports whether s is one or more token characters: an RFC 6749
// §3.3 scope-token, or a valid key ID.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if grammarChars[s[i]]&charToken == 0 {
			return false
		}
	}
	return true
}

// cleanAttr returns s without the bytes that are not attribute characters.
// It allocates only when it drops something.
func cleanAttr(s string) string {
	i := 0
	for i < len(s) && grammarChars[s[i]]&charAttr != 0 {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) - 1)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if grammarChars[s[i]]&charAttr != 0 {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
