package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/oauth2pw"
	"github.com/authkit-go/authkit/rbac"
	"github.com/authkit-go/authkit/userstore"
)

// clientID is the client_id claim of the tokens the server issues to
// logins that name no client (RFC 9068 makes the claim required).
const clientID = "authkit-example"

// realm is the protection space named in WWW-Authenticate challenges: the
// default of both jwtauth.Middleware and rbac, so that the 401 and 403
// challenges agree.
const realm = jwtauth.DefaultRealm

// introspectionClientID is the client_id of the confidential client that
// may call POST /introspect, registered when introspectionSecretEnv holds
// its secret.
const introspectionClientID = "resource-server"

// introspectionSecretEnv names the environment variable that holds the
// introspection client's secret: never a flag, which ps and shell
// histories show.
const introspectionSecretEnv = "AUTHKIT_INTROSPECTION_SECRET"

// minClientSecret is the shortest client secret the token endpoint takes.
const minClientSecret = 16

// appConfig is what the command line configures, plus knobs that only
// tests set.
type appConfig struct {
	addr    string
	keyFile string
	genKey  string // -genkey: write a new key there and exit
	// users holds the arguments after the users subcommand; nil when
	// the command line serves.
	users     []string
	issuer    string
	audience  []string
	ttl       time.Duration
	throttle  bool
	demoUsers bool
	// demoUsersSet reports whether -demo-users was given explicitly, in
	// which case it wins over the loopback rule of [demoUsersDecision].
	demoUsersSet bool
	// db names the database (-db): a SQLite file, a postgres:// URL or
	// ":memory:".
	db string
	// userCache is how long the bearer middleware may reuse a user it
	// looked up (-user-cache). Zero means no cache: every request reads
	// the store.
	userCache time.Duration
	// docs serves GET /openapi.json and Swagger UI at GET /docs/ (-docs).
	docs bool
	// introspectionSecret is the secret of the introspection client, from
	// introspectionSecretEnv. Empty means no such client: POST
	// /introspect then answers every request 401 invalid_client.
	introspectionSecret string

	// logger receives the app's logs. Nil discards them.
	logger *slog.Logger
	// store is the user store. Nil means the store of db.
	store userstore.Manager
	// hasher configures password hashing. The zero value is the
	// production default (argon2id with its default parameters); tests
	// set cheap parameters here.
	hasher userstore.HasherConfig
	// refreshGrace is the refresh tokens' grace window
	// ([oauth2pw.RefreshConfig.GraceWindow]). Zero means its default;
	// negative means none.
	refreshGrace time.Duration
	// now is the app's clock: of the access tokens' times, of the
	// refresh tokens' lifetimes and grace window, and of the in-memory
	// session store. Nil means time.Now.
	now func() time.Time
}

// demoUser is a well-known account the server creates when asked to.
type demoUser struct {
	id, username, name, password string
	roles                        []string
}

// demoUsers are the accounts of the seed app. Their passwords are below
// the password policy on purpose: everyone knows them.
func demoUsers() []demoUser {
	return []demoUser{
		{id: "1", username: "alice@example.com", name: "Alice", password: "password123", roles: []string{"admin"}},
		{id: "2", username: "bob@example.com", name: "Bob", password: "password456", roles: []string{"user"}},
	}
}

// app is the assembled server: store, hasher, keys, token endpoint.
type app struct {
	log *slog.Logger
	// db is the database the app opened, nil when appConfig.store was
	// given.
	db        *database
	users     userstore.Manager
	userCache time.Duration
	hasher    *userstore.Hasher
	keys      *jwtauth.KeySet
	tokens    *jwtauth.JWT
	login     *oauth2pw.Handler
	// sessions keeps the refresh-token families and the access-token
	// denylist that the bearer middleware checks.
	sessions oauth2pw.RefreshStore
	// metadata serves the RFC 8414 authorization server metadata.
	metadata http.Handler
	// docs mounts GET /openapi.json and GET /docs/.
	docs bool
	// demo lists the demo users created at start-up, for the banner.
	demo []demoUser
}

// newApp builds the app from cfg: it opens and migrates the database,
// loads or makes the signing key, and seeds the demo users if cfg asks for
// them and the store is empty. Close releases the database.
func newApp(ctx context.Context, cfg appConfig) (a *app, err error) {
	a = &app{log: cfg.logger, users: cfg.store, userCache: cfg.userCache, docs: cfg.docs}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	kind := dbMemory
	if cfg.store == nil {
		if kind, err = parseDB(cfg.db); err != nil {
			return nil, err
		}
	}
	// Refuse a set-up that cannot work before connecting to anything.
	if kind == dbPostgres && cfg.keyFile == "" {
		return nil, errKeyRequired
	}
	if s := cfg.introspectionSecret; s != "" && len(s) < minClientSecret {
		return nil, errShortIntrospectionSecret
	}
	if a.hasher, err = userstore.NewHasher(cfg.hasher); err != nil {
		return nil, fmt.Errorf("hasher: %w", err)
	}
	d := &database{kind: dbMemory}
	if cfg.store == nil {
		if d, err = openDB(ctx, cfg.db); err != nil {
			return nil, err
		}
		a.db, a.users = d, d.users
		defer func() {
			if err != nil {
				d.Close()
			}
		}()
		a.log.Info("database open", "kind", d.kind.String(), "db", d.describe(cfg.db))
	}
	if a.keys, err = loadKeys(cfg.keyFile, d, a.log); err != nil {
		return nil, err
	}
	a.tokens, err = jwtauth.New(jwtauth.Config{
		Keys:     a.keys,
		Issuer:   cfg.issuer,
		Audience: cfg.audience,
		TTL:      cfg.ttl,
		Now:      cfg.now,
	})
	if err != nil {
		return nil, fmt.Errorf("tokens (-ttl, -issuer, -audience): %w", err)
	}
	login := oauth2pw.Config{
		Users:  a.users,
		Hasher: a.hasher,
		Tokens: a.tokens,

		DefaultClientID: clientID,
		// Throttling stays on unless -throttle=false: without it the
		// endpoint lets anyone guess passwords at the hasher's speed.
		InsecureNoThrottle: !cfg.throttle,
		Logger:             a.log,
	}
	// With a SQL database the throttle's counts live there too: every
	// instance on the database, and the next start, sees them.
	if cfg.throttle && d.throttle != nil {
		login.ThrottleStore = d.throttle
	}
	a.sessions = d.sessions(cfg.now)
	login.Refresh = oauth2pw.RefreshConfig{Store: a.sessions, GraceWindow: cfg.refreshGrace}
	login.Now = cfg.now
	if cfg.introspectionSecret != "" {
		login.Clients = []oauth2pw.Client{{ID: introspectionClientID, Secret: cfg.introspectionSecret}}
	}
	a.login, err = oauth2pw.NewHandler(login)
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	if a.metadata, err = a.login.MetadataHandler(metadata(cfg.issuer, cfg.introspectionSecret != "")); err != nil {
		return nil, fmt.Errorf("metadata (-issuer): %w", err)
	}
	if cfg.demoUsers {
		if a.demo, err = seedDemoUsers(ctx, a.users, a.hasher, a.log); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// errShortIntrospectionSecret refuses an introspection client secret too
// short to be safe.
var errShortIntrospectionSecret = fmt.Errorf("%s: want a secret of at least %d bytes, such as the output of: openssl rand -hex 32", introspectionSecretEnv, minClientSecret)

// introspectionSecret returns the introspection client's secret from the
// environment, as lookup (os.LookupEnv) reads it: "" when the variable is
// unset, and an error when it is set but too short, empty included.
func introspectionSecret(lookup func(string) (string, bool)) (string, error) {
	s, ok := lookup(introspectionSecretEnv)
	if ok && len(s) < minClientSecret {
		return "", errShortIntrospectionSecret
	}
	return s, nil
}

// Where the app mounts its OAuth endpoints.
const (
	tokenPath      = "/token"
	revokePath     = "/revoke"
	introspectPath = "/introspect"
	logoutPath     = "/api/logout"
	jwksPath       = "/.well-known/jwks.json"
	metadataPath   = "/.well-known/oauth-authorization-server"
)

// scopes returns the scopes the token endpoint grants, each with its
// description: each role grants the scope of the same name.
func scopes() map[string]string {
	return map[string]string{
		"admin": "Granted to users with the role admin",
		"user":  "Granted to users with the role user",
	}
}

// metadata returns the RFC 8414 metadata of the app whose tokens carry
// issuer: its endpoints as absolute URLs under issuer, the introspection
// endpoint only when a client may call it.
func metadata(issuer string, introspection bool) oauth2pw.Metadata {
	at := func(path string) string {
		u, err := url.JoinPath(issuer, path)
		if err != nil {
			return ""
		}
		return u
	}
	m := oauth2pw.Metadata{
		Issuer:             issuer,
		TokenEndpoint:      at(tokenPath),
		JWKSURI:            at(jwksPath),
		RevocationEndpoint: at(revokePath),
	}
	if introspection {
		m.IntrospectionEndpoint = at(introspectPath)
	}
	m.ScopesSupported = slices.Sorted(maps.Keys(scopes()))
	return m
}

// Close closes the database the app opened.
func (a *app) Close() error {
	if a.db == nil {
		return nil
	}
	return a.db.Close()
}

// seedDemoUsers creates the demo users if the store holds no user at all,
// and returns the ones it created. Their passwords are below the password
// policy, so it hashes them directly instead of going through
// [userstore.PasswordPolicy], and says so loudly.
func seedDemoUsers(ctx context.Context, users userstore.Manager, h userstore.PasswordHasher, log *slog.Logger) ([]demoUser, error) {
	existing, _, err := users.ListUsers(ctx, userstore.ListOptions{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("demo users: %w", err)
	}
	if len(existing) > 0 {
		return nil, nil
	}
	// Of several instances seeding one empty database at once, each
	// creates the demo users the others have not: a duplicate is one
	// that another instance created.
	demo := demoUsers()
	for _, d := range demo {
		hash, err := h.Hash(d.password)
		if err != nil {
			return nil, fmt.Errorf("demo users: %w", err)
		}
		_, err = users.CreateUser(ctx, &userstore.User{
			ID:           d.id,
			Username:     d.username,
			Name:         d.name,
			Email:        d.username,
			PasswordHash: hash,
			Roles:        d.roles,
		})
		if err != nil && !errors.Is(err, userstore.ErrDuplicate) {
			return nil, fmt.Errorf("demo users: %w", err)
		}
	}
	log.Warn("demo users created with passwords below the password policy; do not use in production",
		"users", []string{demo[0].username, demo[1].username})
	return demo, nil
}

// routes returns the documented API.
func (a *app) routes() http.Handler {
	// Every request loads its user from the store, so that a disabled,
	// deleted or demoted user loses access on the next request, on every
	// instance sharing the database, and after a "users disable" from
	// another process. -user-cache trades that for speed: a change then
	// takes up to its TTL to reach each instance. Revoked and signed-out
	// access tokens are refused through the session store's denylist,
	// which every instance on the database shares.
	bearer := jwtauth.Middleware(a.tokens,
		jwtauth.WithUsers(a.users),
		jwtauth.WithUserCache(a.userCache, 0),
		jwtauth.WithDenylist(a.sessions),
		jwtauth.WithRealm(realm),
	)

	mux := http.NewServeMux()
	// The token, revocation, introspection and sign-out endpoints answer
	// every method themselves: 405 and Allow: POST for all but POST.
	mux.Handle(tokenPath, a.login)
	mux.Handle(revokePath, a.login.RevocationHandler())
	mux.Handle(introspectPath, a.login.IntrospectionHandler())
	mux.Handle(logoutPath, bearer(a.login.SignOutHandler()))
	mux.Handle("GET /api/me", bearer(http.HandlerFunc(a.me)))
	mux.Handle("GET /api/protected", bearer(http.HandlerFunc(a.protected)))
	mux.Handle("GET /api/admin/users", bearer(rbac.Require("admin")(http.HandlerFunc(a.listUsers))))
	mux.Handle("GET "+jwksPath, a.keys.JWKSHandler())
	mux.Handle("GET "+metadataPath, a.metadata)
	mux.HandleFunc("GET /healthz", healthz)
	for _, p := range []string{"/api/me", "/api/protected", "/api/admin/users", jwksPath, metadataPath, "/healthz"} {
		mux.HandleFunc(p, methodNotAllowed)
	}
	if a.docs {
		a.mountDocs(mux)
	}
	mux.HandleFunc("/", notFound)
	return mux
}

// userJSON is a user as /api/me shows it. Role is the first of Roles, the
// single "role" field clients of the FastAPI original read.
type userJSON struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Email string   `json:"email"`
	Role  string   `json:"role"`
	Roles []string `json:"roles"`
}

// firstRole returns roles[0], or "" when there is none.
func firstRole(roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	return roles[0]
}

// me answers GET /api/me: the caller.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	u := userJSON{ID: p.Subject, Role: firstRole(p.Roles), Roles: p.Roles}
	if p.User != nil {
		u.Name, u.Email = p.User.Name, p.User.Email
	}
	writeJSON(w, http.StatusOK, u)
}

// principal returns the caller that the bearer middleware authenticated.
// Without one (a route mounted without the middleware) it answers 401
// itself and reports false.
func principal(w http.ResponseWriter, r *http.Request) (*jwtauth.Principal, bool) {
	p, ok := jwtauth.PrincipalFrom(r.Context())
	if !ok {
		jwtauth.WriteChallenge(w, realm, jwtauth.Challenge{})
	}
	return p, ok
}

// protected answers GET /api/protected: a greeting for any valid token.
func (a *app) protected(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	name := p.Subject
	if p.User != nil && p.User.Name != "" {
		name = p.User.Name
	}
	writeJSON(w, http.StatusOK, struct {
		Message  string   `json:"message"`
		YourRole string   `json:"your_role"`
		Roles    []string `json:"roles"`
	}{"Hello " + name + "!", firstRole(p.Roles), p.Roles})
}

// listedUser is a user as /api/admin/users lists it.
type listedUser struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Role  string   `json:"role"`
	Roles []string `json:"roles"`
}

// listUsers answers GET /api/admin/users: every user, paging through the
// store.
func (a *app) listUsers(w http.ResponseWriter, r *http.Request) {
	list := []listedUser{}
	opts := userstore.ListOptions{Limit: 1000}
	for {
		page, next, err := a.users.ListUsers(r.Context(), opts)
		if err != nil {
			a.log.ErrorContext(r.Context(), "list users", "err", err)
			jwtauth.WriteError(w, http.StatusInternalServerError, "server_error", "The server could not complete the request")
			return
		}
		for _, u := range page {
			list = append(list, listedUser{ID: u.ID, Name: u.Name, Role: firstRole(u.Roles), Roles: u.Roles})
		}
		if next == "" || next == opts.After {
			break
		}
		opts.After = next
	}
	writeJSON(w, http.StatusOK, struct {
		Users []listedUser `json:"users"`
	}{list})
}

// healthz answers GET /healthz: "ok", without authentication. It is the
// baseline against which the cost of authentication is measured.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// methodNotAllowed answers a known path asked with a method it does not
// serve.
func methodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", "GET, HEAD")
	jwtauth.WriteError(w, http.StatusMethodNotAllowed, "invalid_request", "Method not allowed")
}

// notFound answers every path the API does not have.
func notFound(w http.ResponseWriter, _ *http.Request) {
	jwtauth.WriteError(w, http.StatusNotFound, "not_found", "No such resource")
}

// writeJSON writes v, a value of one of this file's response types, as a
// JSON response that no cache keeps.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
