package jwtauth

import (
	"encoding/json"
	"fmt"
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

// claimsJSON is the wire form of the registered claims, in the order they
// are written. Times are NumericDates (RFC 7519 §2), whole seconds; zero
// means absent. Aud is one string for one audience, an array for several,
// and nil for none.
type claimsJSON struct {
	Iss      string   `json:"iss,omitempty"`
	Sub      string   `json:"sub,omitempty"`
	Aud      any      `json:"aud,omitempty"`
	Exp      int64    `json:"exp,omitempty"`
	Nbf      int64    `json:"nbf,omitempty"`
	Iat      int64    `json:"iat,omitempty"`
	Jti      string   `json:"jti,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	Roles    []string `json:"roles,omitempty"`
}

// encodeClaims writes c as a JSON object with encoding/json: the registered
// claims first, in a fixed order, then the Extra members sorted by name.
// Times must be zero or within NumericDate range; they are written as
// whole seconds. An Extra member that is not valid UTF-8 JSON, or whose
// name is empty, not valid UTF-8 or that of a registered claim, is refused.
func encodeClaims(c *Claims) ([]byte, error) {
	w := claimsJSON{
		Iss:      c.Issuer,
		Sub:      c.Subject,
		Exp:      numericDate(c.ExpiresAt),
		Nbf:      numericDate(c.NotBefore),
		Iat:      numericDate(c.IssuedAt),
		Jti:      c.ID,
		ClientID: c.ClientID,
		Scope:    strings.Join(c.Scope, " "),
		Roles:    c.Roles,
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		w.Aud = c.Audience[0]
	default:
		w.Aud = c.Audience
	}
	b, err := json.Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: encode claims: %w", err)
	}
	if len(c.Extra) == 0 {
		return b, nil
	}
	for name, v := range c.Extra {
		if name == "" || registeredClaim(name) {
			return nil, fmt.Errorf("jwtauth: extra claim %q collides with a registered claim", name)
		}
		// encoding/json would write U+FFFD for invalid UTF-8 in a name,
		// and copies raw values without checking their UTF-8.
		if !utf8.ValidString(name) {
			return nil, fmt.Errorf("jwtauth: extra claim name %q is not valid UTF-8", name)
		}
		if !checkJSON(v) {
			return nil, fmt.Errorf("jwtauth: extra claim %q is not valid JSON", name)
		}
	}
	extra, err := json.Marshal(c.Extra) // names sorted
	if err != nil {
		return nil, fmt.Errorf("jwtauth: encode extra claims: %w", err)
	}
	// Join the two objects into one: {"iss":…,"exp":…} and {"x":…} give
	// {"iss":…,"exp":…,"x":…}. The first always has members, since Issue
	// requires "sub".
	if len(b) > 2 {
		b[len(b)-1] = ','
		return append(b, extra[1:]...), nil
	}
	return extra, nil
}

// numericDate returns t as whole seconds since the epoch, or 0 for the
// zero time.
func numericDate(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// inNumericDateRange reports whether t, in whole seconds, is a NumericDate
// that a verifier accepts: after the epoch and at most [maxNumericDate].
func inNumericDateRange(t time.Time) bool {
	s := t.Unix()
	return s > 0 && s <= maxNumericDate
}
