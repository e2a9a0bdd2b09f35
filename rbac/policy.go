package rbac

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/authkit-go/authkit/jwtauth"
)

// Policy grants permissions to roles, and lets roles include other roles:
// with "admin" including "user", an admin holds every permission of a user
// and passes every check for the role "user". NewPolicy resolves the
// inclusions once, so a check costs a few map lookups per request. A
// Policy also carries the [Option]s of its checks' answers.
//
// A Policy is immutable and safe for concurrent use. A nil *Policy, which
// the package-level functions use, defines no roles and has the default
// options.
type Policy struct {
	roles map[string]*role    // every role the policy defines, resolved
	perms map[string]struct{} // every permission some role grants
	opts  options
}

// role is a resolved role.
type role struct {
	includes map[string]struct{} // the role itself and every role it includes, transitively
	perms    map[string]struct{} // its permissions and those of every role it includes
}

// NewPolicy returns a policy in which role r grants the permissions
// permissions[r] and includes the roles inherits[r], with all their
// permissions and inclusions in turn. Either map may be nil; NewPolicy
// copies what it needs and keeps neither.
//
// The roles the policy defines are the keys of both maps. NewPolicy returns
// an error for an empty role or permission name, for a role that includes
// a role the policy does not define, and for inclusions that form a cycle
// (a role including itself, directly or not).
//
// Principals may hold roles the policy does not define: such a role passes
// checks for itself and grants no permissions. Nil opts are skipped.
func NewPolicy(permissions, inherits map[string][]string, opts ...Option) (*Policy, error) {
	p := &Policy{roles: make(map[string]*role), perms: make(map[string]struct{})}
	for _, o := range opts {
		if o != nil {
			o(&p.opts)
		}
	}
	names := slices.Sorted(maps.Keys(permissions))
	for n := range inherits {
		if _, ok := permissions[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if n == "" {
			return nil, errors.New("rbac: empty role name")
		}
		for _, perm := range permissions[n] {
			if perm == "" {
				return nil, fmt.Errorf("rbac: role %q grants an empty permission", n)
			}
			p.perms[perm] = struct{}{}
		}
		for _, inc := range inherits[n] {
			_, isPerm := permissions[inc]
			_, isInh := inherits[inc]
			if !isPerm && !isInh {
				return nil, fmt.Errorf("rbac: role %q includes undefined role %q", n, inc)
			}
		}
	}

	const (
		visiting = 1
		done     = 2
	)
	state := make(map[string]int, len(names))
	var resolve func(n string, path []string) error
	resolve = func(n string, path []string) error {
		switch state[n] {
		case done:
			return nil
		case visiting:
			i := slices.Index(path, n)
			return fmt.Errorf("rbac: role inclusion cycle: %s", strings.Join(append(path[i:], n), " -> "))
		}
		state[n] = visiting
		r := &role{includes: map[string]struct{}{n: {}}, perms: make(map[string]struct{})}
		for _, perm := range permissions[n] {
			r.perms[perm] = struct{}{}
		}
		for _, inc := range inherits[n] {
			if err := resolve(inc, append(path, n)); err != nil {
				return err
			}
			maps.Copy(r.includes, p.roles[inc].includes)
			maps.Copy(r.perms, p.roles[inc].perms)
		}
		state[n] = done
		p.roles[n] = r
		return nil
	}
	for _, n := range names {
		if err := resolve(n, nil); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// RequireAny returns middleware that lets a request through if its
// principal holds at least one of roles, or a role that includes one of
// them. It answers 401 or 403 otherwise (see the package documentation).
func (p *Policy) RequireAny(roles ...string) func(http.Handler) http.Handler {
	if !validNames(roles) {
		return denyAll
	}
	allowed := p.holders(roles...)
	return p.middleware(check{
		allow: func(pr *jwtauth.Principal) bool { return holdsAny(allowed, pr.Roles) },
		desc:  jwtauth.DescInsufficientRole,
	})
}

// RequireAll returns middleware that lets a request through if its
// principal holds, for every one of roles, that role or one that includes
// it.
func (p *Policy) RequireAll(roles ...string) func(http.Handler) http.Handler {
	if !validNames(roles) {
		return denyAll
	}
	covers := make([]map[string]struct{}, len(roles))
	for i, r := range roles {
		covers[i] = p.holders(r)
	}
	return p.middleware(check{
		allow: func(pr *jwtauth.Principal) bool { return holdsAll(covers, pr.Roles) },
		desc:  jwtauth.DescInsufficientRole,
	})
}

// RequireAnyScope is [RequireAnyScope] with p's options. Roles play no
// part in it.
func (p *Policy) RequireAnyScope(scopes ...string) func(http.Handler) http.Handler {
	if !validScopes(scopes) {
		return denyAll
	}
	return p.middleware(scopeCheck(scopes, false))
}

// RequireAllScopes is [RequireAllScopes] with p's options. Roles play no
// part in it.
func (p *Policy) RequireAllScopes(scopes ...string) func(http.Handler) http.Handler {
	if !validScopes(scopes) {
		return denyAll
	}
	return p.middleware(scopeCheck(scopes, true))
}

// RequireAllPermissions returns middleware that lets a request through if
// the roles of its principal grant every one of perms. Each permission must be
// granted by some role of p; a check for one that none grants is a
// misuse (see the package documentation), since no request could pass it.
func (p *Policy) RequireAllPermissions(perms ...string) func(http.Handler) http.Handler {
	if !validNames(perms) {
		return denyAll
	}
	covers := make([]map[string]struct{}, len(perms))
	for i, perm := range perms {
		if _, ok := p.permSet()[perm]; !ok {
			return denyAll
		}
		covers[i] = make(map[string]struct{})
		for name, r := range p.roles {
			if _, ok := r.perms[perm]; ok {
				covers[i][name] = struct{}{}
			}
		}
	}
	return p.middleware(check{
		allow: func(pr *jwtauth.Principal) bool { return holdsAll(covers, pr.Roles) },
		desc:  jwtauth.DescInsufficientRole,
	})
}

// Permits reports whether the roles of pr grant every one of perms, for
// handlers that decide by themselves. It reports false for a nil pr or an
// empty perms.
func (p *Policy) Permits(pr *jwtauth.Principal, perms ...string) bool {
	if pr == nil || len(perms) == 0 || p == nil {
		return false
	}
	for _, perm := range perms {
		granted := false
		for _, name := range pr.Roles {
			if r := p.roles[name]; r != nil {
				if _, granted = r.perms[perm]; granted {
					break
				}
			}
		}
		if !granted {
			return false
		}
	}
	return true
}

// holders returns the roles that pass a check for any of targets: the
// targets themselves and the roles of p that include one of them.
func (p *Policy) holders(targets ...string) map[string]struct{} {
	set := make(map[string]struct{})
	for _, t := range targets {
		set[t] = struct{}{}
	}
	if p == nil {
		return set
	}
	for name, r := range p.roles {
		for _, t := range targets {
			if _, ok := r.includes[t]; ok {
				set[name] = struct{}{}
			}
		}
	}
	return set
}

// permSet returns the permissions p knows; nil for a nil p.
func (p *Policy) permSet() map[string]struct{} {
	if p == nil {
		return nil
	}
	return p.perms
}

// holdsAny reports whether one of roles is in set.
func holdsAny(set map[string]struct{}, roles []string) bool {
	for _, r := range roles {
		if _, ok := set[r]; ok {
			return true
		}
	}
	return false
}

// holdsAll reports whether roles meet every one of covers.
func holdsAll(covers []map[string]struct{}, roles []string) bool {
	for _, c := range covers {
		if !holdsAny(c, roles) {
			return false
		}
	}
	return true
}
