package oauth2pw

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// client is a registered [Client], or the default client, with its secret
// kept as a digest.
type client struct {
	id     string
	public bool
	digest [sha256.Size]byte
	scopes []string
}

// clientRegistry holds the clients a request may authenticate as.
type clientRegistry struct {
	byID  map[string]*client
	def   *client           // the client of requests that name none; nil if one is required
	dummy [sha256.Size]byte // compared against for unknown and public IDs
}

// newClientRegistry returns the registry of clients. Unless require is set,
// requests that name no client are defaultID's, a public client unless
// clients holds one of that ID.
func newClientRegistry(clients []Client, require bool, defaultID string) *clientRegistry {
	reg := &clientRegistry{byID: make(map[string]*client, len(clients))}
	reg.dummy = sha256.Sum256([]byte(rand.Text()))
	for _, c := range clients {
		reg.byID[c.ID] = &client{
			id:     c.ID,
			public: c.Secret == "",
			digest: sha256.Sum256([]byte(c.Secret)),
			scopes: slices.Clone(c.Scopes),
		}
	}
	if !require {
		reg.def = reg.byID[defaultID]
		if reg.def == nil {
			reg.def = &client{id: defaultID, public: true}
		}
	}
	return reg
}

// lookup returns the client of id, or nil.
func (reg *clientRegistry) lookup(id string) *client {
	if c := reg.byID[id]; c != nil {
		return c
	}
	if reg.def != nil && id == reg.def.id {
		return reg.def
	}
	return nil
}

// check returns the client that id and secret authenticate, after the
// same work whether or not id is known: a public client with an empty
// secret, or a confidential one with its secret.
func (reg *clientRegistry) check(id, secret string) (*client, bool) {
	c := reg.lookup(id)
	want := &reg.dummy
	if c != nil && !c.public {
		want = &c.digest
	}
	d := sha256.Sum256([]byte(secret))
	match := subtle.ConstantTimeCompare(d[:], want[:]) == 1
	switch {
	case c == nil:
		return nil, false
	case c.public:
		return c, secret == ""
	default:
		return c, match && secret != ""
	}
}

func errInvalidClient() *tokenError {
	return newTokenError(http.StatusUnauthorized, CodeInvalidClient, descInvalidClient)
}

// clientCreds are the client credentials a request presents (RFC 6749
// §2.3.1). Empty parameters count as omitted (§3.1).
type clientCreds struct {
	id, secret string
	basic      bool // from an HTTP Basic header with a non-empty user or password
}

// readClientCreds returns the client credentials of r: those of an HTTP
// Basic header, whose user and password are form-encoded (RFC 6749
// §2.3.1), or the client_id and client_secret parameters of form; never
// both. The empty Basic credential ("Basic Og==") counts as no header. It
// answers 400 for two Authorization headers or for Basic beside body
// credentials, and 401 for any other scheme or a malformed Basic value.
func readClientCreds(r *http.Request, form url.Values) (clientCreds, *tokenError) {
	cr := clientCreds{id: form.Get("client_id"), secret: form.Get("client_secret")}
	authz := r.Header.Values("Authorization")
	switch len(authz) {
	case 0:
		return cr, nil
	case 1:
	default:
		return clientCreds{}, badRequest(descRepeatedAuthz)
	}
	id, secret, ok := basicAuth(r)
	switch {
	case !ok:
		return clientCreds{}, errInvalidClient()
	case id == "" && secret == "":
		return cr, nil
	case cr.id != "" || cr.secret != "":
		return clientCreds{}, badRequest(descMultipleAuth)
	}
	return clientCreds{id: id, secret: secret, basic: true}, nil
}

// basicAuth returns the user and password of r's HTTP Basic Authorization
// header ([http.Request.BasicAuth]), form-decoded as RFC 6749 §2.3.1
// requires. It reports false for another scheme or a malformed value.
func basicAuth(r *http.Request) (id, secret string, ok bool) {
	u, p, ok := r.BasicAuth()
	if !ok {
		return "", "", false
	}
	id, err := url.QueryUnescape(u)
	if err != nil {
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
