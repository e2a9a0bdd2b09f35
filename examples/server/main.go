// Command server serves the documented authkit API: the OAuth 2.0 password
// grant at POST /token with refresh tokens, revocation, introspection and
// sign-out, JWT-protected routes under /api/, the public keys at
// /.well-known/jwks.json, its own OpenAPI document with Swagger UI at
// /docs/, and an unauthenticated /healthz. Its users live in a database,
// SQLite by default, and subcommands manage them.
//
// Usage:
//
//	go run ./examples/server [flags]
//	go run ./examples/server [-db DB] users add|passwd|disable|enable|list ...
//
// The routes are:
//
//	POST /token                  OAuth 2.0 password and refresh_token grants (form-encoded)
//	POST /revoke                 RFC 7009 revocation of a refresh or access token
//	POST /introspect             RFC 7662 introspection, for the resource-server client
//	POST /api/logout             sign out: this session, or every one with everywhere=true
//	GET  /api/me                 the caller: id, name, email, role, roles
//	GET  /api/protected          {"message": "Hello Alice!", "your_role": "admin", "roles": [...]}
//	GET  /api/admin/users        every user's id, name, role and roles; role admin only
//	GET  /.well-known/jwks.json  the public verification keys
//	GET  /.well-known/oauth-authorization-server
//	                             RFC 8414 metadata: the endpoints above as URLs under -issuer
//	GET  /openapi.json           this API as an OpenAPI 3.1 document (-docs)
//	GET  /docs/                  Swagger UI for it, served offline (-docs)
//	GET  /healthz                "ok", unauthenticated
//
// Every /api/ route needs an "Authorization: Bearer <token>" header and
// loads the token's user from the database on each request, so a user who
// is disabled, deleted, demoted or signed out everywhere loses access on
// the next request. "role" and "your_role" are the user's first role, the
// fields of the FastAPI original, so its clients work unchanged; "roles"
// lists them all. Errors are JSON {"error", "error_description"} with the
// RFC 6749 and RFC 6750 codes.
//
// # Sessions
//
// A login answers with an access token and a refresh token. POST /token
// with grant_type=refresh_token trades the refresh token for a new pair:
// each refresh token is good for one use, a retry within two seconds of
// its use gets the same new pair, and a spent token presented later ends
// the whole session (the login and every token rotated from it). A session
// lasts 30 days from its login, and 7 days without a refresh. POST
// /api/logout, with the access token, ends the session it came from; with
// everywhere=true, every session of the user and every access token issued
// to them before. POST /revoke ends the session of a refresh token, or
// refuses an access token until it expires.
//
// On SQLite and PostgreSQL the sessions and the list of revoked access
// tokens live in the database beside the users: they survive a restart,
// and a refresh, a sign-out or a revocation through one instance holds on
// every instance on the database. With -db :memory: they die with the
// process.
//
// POST /introspect answers a confidential client only. The server
// registers one, client_id "resource-server", when the environment
// variable AUTHKIT_INTROSPECTION_SECRET holds its secret, at least 16
// bytes (openssl rand -hex 32 makes one); it refuses to start with a
// shorter one. Without it, every request is answered 401 invalid_client.
// The secret is never a flag, which ps and shell histories show.
//
// # Databases
//
// -db names the database:
//
//   - a file path: SQLite (the default, authkit.db in the working
//     directory). The file is created on first start, readable by its
//     owner only, with its -wal and -shm files beside it. One machine;
//     several server processes and the users subcommands may share the
//     file.
//   - a postgres:// or postgresql:// URL: PostgreSQL, for any number of
//     instances on one database. Every instance must sign with the same
//     key, so -key is required: the server does not keep keys in the
//     database, where everyone who can read the users table could read
//     the key that mints tokens for any of them. Write one with -genkey
//     and give every instance a copy.
//   - :memory: a throwaway store inside the process: users and tokens die
//     with it.
//
// Each start applies the schema migrations the database lacks; instances
// starting at the same moment wait for each other (PostgreSQL: an
// advisory lock; SQLite: its write lock). The demo users are created only
// in a database without any user.
//
// A user disabled, deleted, demoted or signed out everywhere through one
// instance, or with the users subcommands, is refused by every instance
// on its next request: each request reads the user from the database.
// A revoked or signed-out access token is refused the same way: each
// request asks the database's denylist. With -user-cache TTL an instance
// may reuse a user, or a denylist answer, it read for up to TTL, and the
// change then takes up to TTL to reach it. Logins (POST /token) always
// read the database.
//
// Failed logins are throttled in the database too: failures counted by
// one instance delay attempts on every instance sharing it, and survive
// a restart. On SQLite the throttle's writes do not wait for the disk
// (synchronous=NORMAL, on connections of their own), so a power cut may
// forget the last few failures; the users' writes wait for it
// (synchronous=FULL), so a change that returned survives one. The memory
// store throttles in memory.
//
// On SQLite, logins and refreshes write their sessions through the
// throttle's connections too, without waiting for the disk: a crash of
// the process loses none of them, but a power cut may forget the last
// few. A client whose newest refresh token was forgotten logs in again,
// and a refresh token it had already spent works once more, until it
// expires or is spent. Sign-outs, revocations and the denylist wait for
// the disk (their commit also syncs every earlier write), so a sign-out
// or a revocation that returned survives a power cut.
//
// # Signing keys
//
// -key always wins. Without it, a SQLite server makes an Ed25519 key on
// first start and keeps it beside the database file, as DB.key.pem (for
// the default, authkit.db.key.pem) with mode 0600, so tokens survive
// restarts; it refuses to start if that file is readable or writable by
// group or others. Keep the key file with the database and out of
// version control: whoever has it can mint tokens for any user.
//
// # Managing users
//
// The users subcommands work on the same -db, while servers run on it or
// not (server users -h for the details):
//
//	server users add EMAIL [-name NAME] [-role ROLE]...
//	server users passwd EMAIL
//	server users disable EMAIL
//	server users enable EMAIL
//	server users list
//
// add and passwd read the password from standard input: at a terminal,
// twice and without echo (on Linux; elsewhere it shows as it is typed);
// otherwise the first line, so that scripts can pipe it in, as with
// docker login --password-stdin. The password must pass the default
// [userstore.PasswordPolicy] (at least 15 characters) and differ from the
// username. A password change and disabling a user end the user's
// tokens. Bad input gets a message and exit status 1, and changes
// nothing.
//
// # Flags
//
//	-addr address
//		TCP address to listen on (default 127.0.0.1:8080).
//	-db database
//		A SQLite file path, a postgres:// URL or :memory: (default
//		authkit.db); see Databases.
//	-key path
//		PEM PKCS#8 private key (Ed25519, ECDSA or RSA) or a JWK / JWK Set
//		JSON file ("kty": "oct" for HMAC) that signs the access tokens.
//		The first key of a JWK Set signs; the others only verify, which
//		keeps the tokens of a previous key valid across a rotation.
//		Without -key, see Signing keys; PostgreSQL requires it.
//	-user-cache ttl
//		How long the bearer middleware may reuse a user, or a denylist
//		answer, it looked up (default 0: every request reads the
//		database).
//	-issuer url
//		The "iss" of the tokens (default http://127.0.0.1:8080).
//	-audience list
//		The "aud" of the tokens, comma-separated
//		(default http://127.0.0.1:8080/api).
//	-ttl duration
//		Access-token lifetime, at most 24h (default 30m).
//	-throttle
//		Throttle failed logins (default true).
//	-genkey path
//		Write a new Ed25519 signing key to path (PEM PKCS#8, mode 0600),
//		print how to use it, and exit. An existing file is never
//		overwritten. Serve with -key path.
//	-demo-users
//		When the database holds no user, create alice@example.com (admin)
//		and bob@example.com (user) with well-known passwords (default
//		true). Unless the flag is given explicitly, only when -addr is a
//		loopback address (127.0.0.0/8, ::1 or localhost): a server
//		reachable from other machines gets no demo users by default. The
//		start-up log says which applies.
//	-docs
//		Serve GET /openapi.json and Swagger UI at GET /docs/ (default
//		true). Its Authorize button logs in with the password flow: leave
//		the client fields blank.
//
// On start-up the server prints its address, its database, the demo users
// it created, a curl command to try and, with -docs, the docs' URL; it logs to standard error with
// log/slog. SIGINT or SIGTERM shut it down gracefully: requests in flight
// get up to ten seconds to finish.
//
// The demo users' passwords are below the password policy and published
// in this file: never run the demo users anywhere but on your own
// machine, and remove them (server users disable) from a database you
// keep.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
)

// Server limits. ReadHeaderTimeout bounds slow-loris clients; the read and
// write timeouts bound a whole request, a login's hashing included.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	shutdownTimeout   = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run parses args, builds the app and serves it until ctx ends. It writes
// the start-up banner to stdout and structured logs to stderr. With the
// users subcommand it manages users instead, reading passwords from stdin.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if cfg.genKey != "" {
		return genKey(cfg.genKey, stdout)
	}
	if cfg.users != nil {
		return runUsers(ctx, cfg, cfg.users, stdin, stdout, stderr)
	}
	if cfg.introspectionSecret, err = introspectionSecret(os.LookupEnv); err != nil {
		return err
	}
	cfg.logger = slog.New(slog.NewTextHandler(stderr, nil))
	var reason string
	cfg.demoUsers, reason = demoUsersDecision(cfg.addr, cfg.demoUsers, cfg.demoUsersSet)
	switch {
	case cfg.demoUsers:
		cfg.logger.Info("demo users enabled", "reason", reason, "addr", cfg.addr)
	case reason == demoReasonNotLoopback:
		cfg.logger.Warn("demo users disabled", "reason", reason, "addr", cfg.addr)
	default:
		cfg.logger.Info("demo users disabled", "reason", reason, "addr", cfg.addr)
	}
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return err
	}
	a.printBanner(stdout, ln.Addr().String(), cfg.db)
	return a.serve(ctx, ln)
}

// parseFlags parses the command line into an appConfig. Usage and errors go
// to output; -h returns [flag.ErrHelp].
func parseFlags(args []string, output io.Writer) (appConfig, error) {
	cfg := appConfig{}
	var audience string
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "TCP `address` to listen on")
	fs.StringVar(&cfg.db, "db", "authkit.db", "the `database`: a SQLite file path (created on first start), a postgres:// or postgresql:// URL (several instances; needs -key), or :memory: (a throwaway store)")
	fs.StringVar(&cfg.keyFile, "key", "", "`path` of the signing key: PEM PKCS#8 private key (Ed25519, ECDSA, RSA) or JWK / JWK Set JSON (kty oct for HMAC); empty: with SQLite, an Ed25519 key generated on first start and kept beside the database as DB.key.pem (mode 0600); with :memory:, a fresh key whose tokens die with the process; PostgreSQL requires -key")
	fs.DurationVar(&cfg.userCache, "user-cache", 0, "how long a request may reuse the user, or the denylist answer, another request looked up (0: every request reads the database, so a disabled user or a revoked token is refused at once on every instance; otherwise within this `ttl`)")
	fs.StringVar(&cfg.genKey, "genkey", "", "write a new Ed25519 signing key to `path` (mode 0600), print how to use it, and exit")
	fs.StringVar(&cfg.issuer, "issuer", "http://127.0.0.1:8080", "the tokens' \"iss\" `url`")
	fs.StringVar(&audience, "audience", "http://127.0.0.1:8080/api", "the tokens' \"aud\": comma-separated `list`")
	fs.DurationVar(&cfg.ttl, "ttl", 30*time.Minute, "access-token lifetime (at most 24h)")
	fs.BoolVar(&cfg.throttle, "throttle", true, "throttle failed logins")
	fs.BoolVar(&cfg.demoUsers, "demo-users", true, "when the store is empty, create alice@example.com (admin) and bob@example.com (user) with passwords below the password policy; unless given explicitly, only on a loopback -addr")
	fs.BoolVar(&cfg.docs, "docs", true, "serve the API's OpenAPI document at GET /openapi.json and Swagger UI at GET /docs/")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: server [flags]\n       server [-db DB] users add|passwd|disable|enable|list ... (server users -h)\n\nServes the authkit example API.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\nEnvironment:\n  %s\n    \tthe secret (at least %d bytes) of the client %q, which may call POST /introspect; unset: no client may\n", introspectionSecretEnv, minClientSecret, introspectionClientID)
	}
	if err := fs.Parse(args); err != nil {
		return appConfig{}, err
	}
	switch {
	case fs.Arg(0) == "users":
		cfg.users = append([]string{}, fs.Args()[1:]...)
	case fs.NArg() > 0:
		return appConfig{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "demo-users" {
			cfg.demoUsersSet = true
		}
	})
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return appConfig{}, fmt.Errorf("-addr: %w", err)
	}
	if cfg.userCache < 0 {
		return appConfig{}, fmt.Errorf("-user-cache: %v is negative", cfg.userCache)
	}
	kind, err := parseDB(cfg.db)
	if err != nil {
		return appConfig{}, err
	}
	if kind == dbPostgres && cfg.keyFile == "" && cfg.users == nil && cfg.genKey == "" {
		return appConfig{}, errKeyRequired
	}
	if cfg.ttl <= 0 {
		return appConfig{}, fmt.Errorf("-ttl: %v is not positive", cfg.ttl)
	}
	if u, err := url.Parse(cfg.issuer); cfg.issuer == "" || err != nil || !u.IsAbs() {
		return appConfig{}, errors.New("-issuer: want an absolute URL such as http://127.0.0.1:8080")
	}
	for aud := range strings.SplitSeq(audience, ",") {
		if aud = strings.TrimSpace(aud); aud != "" {
			cfg.audience = append(cfg.audience, aud)
		}
	}
	if len(cfg.audience) == 0 {
		return appConfig{}, errors.New("-audience: want at least one audience")
	}
	return cfg, nil
}

// genKey writes a new Ed25519 signing key to path as PEM PKCS#8, readable
// by its owner only, and tells out how to serve with it. It refuses to
// overwrite an existing file, so a kept key is never lost to a typo.
func genKey(path string, out io.Writer) error {
	k, err := jwtauth.GenerateKey(jwtauth.EdDSA)
	if err != nil {
		return fmt.Errorf("-genkey: %w", err)
	}
	pem, err := k.MarshalPEM()
	if err != nil {
		return fmt.Errorf("-genkey: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("-genkey: %w", err)
	}
	if _, err := f.Write(pem); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("-genkey: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("-genkey: %w", err)
	}
	fmt.Fprintf(out, "Wrote a new Ed25519 signing key (kid %s) to %s, readable by you only.\n", k.ID(), path)
	fmt.Fprintf(out, "Serve with it, and tokens survive restarts:\n\n  go run ./examples/server -key %s\n\n", path)
	fmt.Fprintf(out, "Keep it secret: whoever has it can mint tokens for any user.\n")
	return nil
}

// Why the demo users are enabled or not, as the start-up log says. Enabled
// demo users are created only in an empty store.
const (
	demoReasonLoopback    = "-addr is a loopback address"
	demoReasonNotLoopback = "-addr is not a loopback address; give -demo-users=true to create them anyway"
	demoReasonFlagOn      = "-demo-users=true given"
	demoReasonFlagOff     = "-demo-users=false given"
)

// demoUsersDecision decides whether the demo users, whose passwords
// everyone knows, may be created for a server listening on addr. An
// explicit -demo-users (set reports whether it was given) decides alone;
// otherwise only a loopback address gets them: a loopback IP, or the name
// localhost. Every other address, including the unspecified ones (":8080",
// "0.0.0.0", "[::]") and host names, which could resolve to anything,
// counts as reachable from outside. It returns the reason for the
// start-up log.
func demoUsersDecision(addr string, want, set bool) (bool, string) {
	switch {
	case set && want:
		return true, demoReasonFlagOn
	case !want:
		return false, demoReasonFlagOff
	case isLoopback(addr):
		return true, demoReasonLoopback
	}
	return false, demoReasonNotLoopback
}

// isLoopback reports whether the host of addr, a host:port pair, is a
// loopback IP address or localhost.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// newServer returns the production-shaped server for h.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serve serves the app on ln until ctx ends, then shuts down gracefully,
// giving in-flight requests up to shutdownTimeout.
func (a *app) serve(ctx context.Context, ln net.Listener) error {
	srv := newServer(a.routes(), a.log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.log.Info("stopped")
	return nil
}

// printBanner tells a human where the server listens, who can log in and
// how to try it.
func (a *app) printBanner(w io.Writer, addr, db string) {
	base := "http://" + addr
	fmt.Fprintf(w, "authkit example server on %s\n", base)
	if a.db != nil {
		switch a.db.kind {
		case dbMemory:
			fmt.Fprintf(w, "Users in memory: they and their tokens die with the process.\n")
		default:
			fmt.Fprintf(w, "Users in %s; manage them with: server -db %s users add|passwd|disable|enable|list\n", a.db.describe(db), bannerDB(a.db, db))
		}
	}
	if len(a.demo) > 0 {
		fmt.Fprintf(w, "\nDemo users (passwords below the password policy; never use them in production):\n")
		for _, d := range a.demo {
			fmt.Fprintf(w, "  %-18s %-12s (%s)\n", d.username, d.password, strings.Join(d.roles, ", "))
		}
		d := a.demo[0]
		fmt.Fprintf(w, "\nTry:\n")
		fmt.Fprintf(w, "  TOKEN=$(curl -s %s/token -d grant_type=password -d username=%s -d password=%s | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\n", base, d.username, d.password)
		fmt.Fprintf(w, "  curl -s %s/api/me -H \"Authorization: Bearer $TOKEN\"\n", base)
	}
	if a.docs {
		fmt.Fprintf(w, "\nAPI docs: %s%s/ (Authorize with a username and password, client fields blank)\n", base, docsPrefix)
	}
	fmt.Fprintln(w)
}

// bannerDB is the -db value as the banner shows it: a PostgreSQL URL, which
// may hold a password, is elided.
func bannerDB(d *database, db string) string {
	if d.kind == dbPostgres {
		return "postgres://…"
	}
	return db
}
