package userstore

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// maxEncodedLen bounds the length of an encoded hash any decoder reads. The
// longest legitimate string (argon2id with 64-byte salt and hash and
// ten-digit parameters) is under 250 bytes.
const maxEncodedLen = 512

// hashID returns the algorithm identifier of an encoded hash in PHC or
// modular crypt format: the text between the leading '$' and the next one.
// It returns "" when encoded has no such identifier.
func hashID(encoded string) string {
	rest, ok := strings.CutPrefix(encoded, "$")
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, "$")
	if !ok {
		return ""
	}
	return id
}

// splitFields splits encoded, which must start with "$"+id+"$", into its
// '$'-separated fields after the identifier. It returns an error wrapping
// [ErrUnknownHashFormat] if the identifier is not id, and one wrapping
// [ErrMalformedHash] unless there are exactly n fields, none empty.
func splitFields(encoded, id string, n int) ([]string, error) {
	if hashID(encoded) != id {
		return nil, ErrUnknownHashFormat
	}
	if len(encoded) > maxEncodedLen {
		return nil, fmt.Errorf("%w: %s: longer than %d bytes", ErrMalformedHash, id, maxEncodedLen)
	}
	rest := encoded[len(id)+2:]
	if strings.Count(rest, "$") != n-1 {
		return nil, fmt.Errorf("%w: %s: want %d fields", ErrMalformedHash, id, n)
	}
	fields := strings.Split(rest, "$")
	for _, f := range fields {
		if f == "" {
			return nil, fmt.Errorf("%w: %s: empty field", ErrMalformedHash, id)
		}
	}
	return fields, nil
}

// parseDecimal parses s as a decimal number between lo and hi inclusive. It
// accepts ASCII digits only: no sign, no leading zero, no spaces, so that a
// number has one spelling.
func parseDecimal(s string, lo, hi uint64) (uint64, bool) {
	if s == "" || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if d > hi || v > (hi-d)/10 { // v*10+d would exceed hi
			return 0, false
		}
		v = v*10 + d
	}
	return v, v >= lo
}

// paramSpec is one "key=value" parameter of a PHC string, with the bounds
// its value must lie in.
type paramSpec struct {
	key    string
	lo, hi uint64
}

// parseParams parses a PHC parameter list "k1=v1,k2=v2,..." that must name
// exactly the keys of specs, in that order, each once, with decimal values
// in bounds. It returns the values in the order of specs.
func parseParams(s string, specs ...paramSpec) ([]uint64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != len(specs) {
		return nil, fmt.Errorf("want %d parameters", len(specs))
	}
	vals := make([]uint64, len(specs))
	for i, part := range parts {
		key, val, _ := strings.Cut(part, "=")
		if key != specs[i].key {
			return nil, fmt.Errorf("parameter %d: want %q", i+1, specs[i].key)
		}
		v, ok := parseDecimal(val, specs[i].lo, specs[i].hi)
		if !ok {
			return nil, fmt.Errorf("parameter %s: not a number in [%d, %d]", specs[i].key, specs[i].lo, specs[i].hi)
		}
		vals[i] = v
	}
	return vals, nil
}

// decodeB64 decodes s with enc, refusing it before any allocation unless the
// decoded length lies between lo and hi bytes. Line breaks, which
// encoding/base64 would skip, are refused too.
func decodeB64(enc *base64.Encoding, s string, lo, hi int) ([]byte, error) {
	if n := enc.DecodedLen(len(s)); n < lo || n > hi {
		return nil, fmt.Errorf("decoded length %d outside [%d, %d]", n, lo, hi)
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("line break in base64")
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return b, nil
}
