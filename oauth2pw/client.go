package oauth2pw

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// client is a registered [Client], with its secret kept as a digest.
type client struct {
	id     string
	public bool
	digest [sha256.Size]byte
	scopes []string
}

// clientRegistry authenticates clients.
type clientRegistry struct {
	byID    map[string]*client
	require bool
	dummy   [sha256.Size]byte // compared against for unknown IDs
}

func newClientRegistry(clients []Client, require bool) *clientRegistry {
	if len(clients) == 0 {
		return nil
	}
	reg := &clientRegistry{byID: make(map[string]*client, len(clients)), require: require}
	reg.dummy = sha256.Sum256([]byte(rand.Text()))
	for _, c := range clients {
		reg.byID[c.ID] = &client{
			id:     c.ID,
			public: c.Secret == "",
			digest: sha256.Sum256([]byte(c.Secret)),
			scopes: cloneScopes(c.Scopes),
		}
	}
	return reg
}

func cloneScopes(s []string) []string {
	if s == nil {
		return nil
	}
	return append(make([]string, 0, len(s)), s...)
}

func errInvalidClient() *Error {
	return tokenError(http.StatusUnauthorized, CodeInvalidClient, descInvalidClient)
}

func errMultipleAuth() *Error {
	return tokenError(http.StatusBadRequest, CodeInvalidRequest, descMultipleAuth)
}

// authenticate returns the client that r authenticates as, or nil if it
// names none and none is required (RFC 6749 §2.3). Credentials come from
// an HTTP Basic header, whose user and password are form-encoded (§2.3.1),
// or from the client_id and client_secret parameters; never both.
func (reg *clientRegistry) authenticate(r *http.Request, form url.Values) (*client, *Error) {
	var id, secret string
	// Empty parameters count as omitted (RFC 6749 §3.1).
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	authz := r.Header.Values("Authorization")
	switch {
	case len(authz) > 1:
		return nil, errMultipleAuth()
	case len(authz) == 1:
		if formID != "" || formSecret != "" {
			return nil, errMultipleAuth()
		}
		var ok bool
		if id, secret, ok = parseBasic(authz[0]); !ok {
			return nil, errInvalidClient()
		}
	default:
		id, secret = formID, formSecret
		if secret != "" && id == "" {
			return nil, errInvalidClient()
		}
	}
	hasSecret := secret != ""
	if id == "" {
		if reg.require {
			return nil, errInvalidClient()
		}
		return nil, nil
	}
	c := reg.byID[id]
	if c == nil {
		d := sha256.Sum256([]byte(secret))
		subtle.ConstantTimeCompare(d[:], reg.dummy[:])
		return nil, errInvalidClient()
	}
	if c.public {
		if hasSecret {
			return nil, errInvalidClient()
		}
		return c, nil
	}
	d := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(d[:], c.digest[:]) != 1 || !hasSecret {
		return nil, errInvalidClient()
	}
	return c, nil
}

// parseBasic decodes an HTTP Basic Authorization header value and
// form-decodes its user and password as RFC 6749 §2.3.1 requires.
func parseBasic(v string) (id, secret string, ok bool) {
	scheme, cred, found := strings.Cut(v, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	u, p, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(u); err != nil {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(p); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// clientIP returns the address whose failures r counts against: the
// connection's, or, when the connection comes from a trusted proxy, the
// right-most X-Forwarded-For entry that is not a trusted proxy. Parsing stops
// at the first malformed entry, keeping the last address that a trusted
// proxy vouched for. It returns the zero Addr if RemoteAddr is not an IP
// address (a Unix socket, say).
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	addr, ok := parseHostAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !inPrefixes(addr, trusted) {
		return addr
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parseHostAddr(strings.TrimSpace(parts[j]))
			if !ok {
				return addr
			}
			if !inPrefixes(a, trusted) {
				return a
			}
			addr = a
		}
	}
	return addr
}

// parseHostAddr parses "ip", "ip:port" or "[ipv6]:port", dropping any zone
// and unmapping IPv4-mapped IPv6 addresses.
func parseHostAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
