package jwtauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// registeredClaim reports whether name is a claim that [Claims] has a field
// for, which Claims.Extra must not hold.
func registeredClaim(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "roles":
		return true
	}
	return false
}

// Bits of the registered claims, to find repeated names.
const (
	seenIss uint16 = 1 << iota
	seenSub
	seenAud
	seenExp
	seenNbf
	seenIat
	seenJti
	seenClientID
	seenScope
	seenRoles
)

// decodeClaims reads the claims in payload, which must be a JSON object with
// unique member names and registered claims of the right JSON types. It
// checks syntax and types only; [verifier.validate] checks values.
func decodeClaims(payload []byte) (*Claims, error) {
	if !checkJSON(payload) {
		return nil, errors.New("claims are not valid JSON")
	}
	c := new(Claims)
	var seen uint16
	once := func(bit uint16) error {
		if seen&bit != 0 {
			return errDuplicateKey
		}
		seen |= bit
		return nil
	}
	err := eachMember(payload, func(name, v []byte) error {
		var err error
		switch string(name) {
		case "iss":
			if err = once(seenIss); err == nil {
				c.Issuer, err = jsonString(v)
			}
		case "sub":
			if err = once(seenSub); err == nil {
				c.Subject, err = jsonString(v)
			}
		case "aud":
			if err = once(seenAud); err == nil {
				c.Audience, err = decodeAudience(v)
			}
		case "exp":
			if err = once(seenExp); err == nil {
				c.ExpiresAt, err = jsonNumericDate(v)
			}
		case "nbf":
			if err = once(seenNbf); err == nil {
				c.NotBefore, err = jsonNumericDate(v)
			}
		case "iat":
			if err = once(seenIat); err == nil {
				c.IssuedAt, err = jsonNumericDate(v)
			}
		case "jti":
			if err = once(seenJti); err == nil {
				c.ID, err = jsonString(v)
			}
		case "client_id":
			if err = once(seenClientID); err == nil {
				c.ClientID, err = jsonString(v)
			}
		case "scope":
			if err = once(seenScope); err == nil {
				var s string
				if s, err = jsonString(v); err == nil {
					c.Scope = splitScope(s)
				}
			}
		case "roles":
			if err = once(seenRoles); err == nil {
				c.Roles, err = jsonStrings(v)
			}
		default:
			if _, dup := c.Extra[string(name)]; dup {
				return errDuplicateKey
			}
			if c.Extra == nil {
				c.Extra = make(map[string]json.RawMessage)
			}
			c.Extra[string(name)] = json.RawMessage(v)
		}
		if err != nil {
			return fmt.Errorf("claim %s: %w", name, err) // a registered name: plain ASCII
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

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

func decodeAudience(v []byte) ([]string, error) {
	if len(v) > 0 && v[0] == '"' {
		s, err := jsonString(v)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	return jsonStrings(v)
}

// encodeClaims writes c as a JSON object: registered claims first, in a
// fixed order, then Extra members sorted by name. Times are whole seconds.
func encodeClaims(c *Claims) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	sep := false
	member := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = strconv.AppendQuote(b, name) // names are plain ASCII
		b = append(b, ':')
	}
	str := func(name, v string) {
		if v == "" {
			return
		}
		member(name)
		b = appendJSONString(b, v)
	}
	date := func(name string, t time.Time) {
		if t.IsZero() {
			return
		}
		member(name)
		b = strconv.AppendInt(b, t.Unix(), 10)
	}
	strs := func(name string, v []string) {
		member(name)
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	str("iss", c.Issuer)
	str("sub", c.Subject)
	if len(c.Audience) == 1 {
		str("aud", c.Audience[0])
	} else if len(c.Audience) > 1 {
		strs("aud", c.Audience)
	}
	date("exp", c.ExpiresAt)
	date("nbf", c.NotBefore)
	date("iat", c.IssuedAt)
	str("jti", c.ID)
	str("client_id", c.ClientID)
	str("scope", strings.Join(c.Scope, " "))
	if len(c.Roles) > 0 {
		strs("roles", c.Roles)
	}
	names := make([]string, 0, len(c.Extra))
	for name := range c.Extra {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == "" || registeredClaim(name) {
			return nil, fmt.Errorf("jwtauth: extra claim %q collides with a registered claim", name)
		}
		if !utf8.ValidString(name) {
			return nil, fmt.Errorf("jwtauth: extra claim name %q is not valid UTF-8", name)
		}
		v := c.Extra[name]
		if !checkJSON(v) {
			return nil, fmt.Errorf("jwtauth: extra claim %q is not valid JSON", name)
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	enc, _ := json.Marshal(s) // a string always marshals
	return append(b, enc...)
}
