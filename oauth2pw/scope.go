package oauth2pw

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// checkScopes returns an error naming the first entry of scopes that is not
// a scope-token.
func checkScopes(scopes []string) error {
	for _, s := range scopes {
		if !jwtauth.IsScopeToken(s) {
			return fmt.Errorf("%q is not a scope token", s)
		}
	}
	return nil
}

var errMalformedScope = errors.New("malformed scope")

// parseScope splits the scope parameter into its distinct scope-tokens, in
// order. Runs of spaces count as one; any other character outside the
// scope-token set makes it malformed.
func parseScope(s string) ([]string, error) {
	var out []string
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			continue
		}
		if !jwtauth.IsScopeToken(tok) {
			return nil, errMalformedScope
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out, nil
}

// scopePolicy decides which scopes a login may be granted.
type scopePolicy struct {
	byRole   map[string][]string // nil: each role grants its own name
	defaults []string
}

// allows reports whether u, through client cl (nil for none), may be
// granted scope s.
func (p *scopePolicy) allows(u *userstore.User, cl *client, s string) bool {
	if cl != nil && cl.scopes != nil && !slices.Contains(cl.scopes, s) {
		return false
	}
	for _, r := range u.Roles {
		if p.byRole == nil {
			if r == s {
				return true
			}
		} else if slices.Contains(p.byRole[r], s) {
			return true
		}
	}
	return false
}

// grant returns the scopes to put in the token of u, given the scopes the
// request named. With none requested it returns the default scopes u and
// cl may have; otherwise every requested scope must be allowed, or ok is
// false.
func (p *scopePolicy) grant(u *userstore.User, cl *client, requested []string) (granted []string, ok bool) {
	if len(requested) == 0 {
		for _, s := range p.defaults {
			if p.allows(u, cl, s) && !slices.Contains(granted, s) {
				granted = append(granted, s)
			}
		}
		return granted, true
	}
	for _, s := range requested {
		if !p.allows(u, cl, s) {
			return nil, false
		}
	}
	return requested, true
}
