package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// usersUsage is the help text of the users subcommands.
const usersUsage = `Usage: server [-db DB] users COMMAND [flags] [USERNAME]

Manages the users of the database that -db names (default authkit.db),
while servers run on it or not.

Commands:
  add USERNAME [-name NAME] [-role ROLE]...
        create a user (the username is the login name, usually an email
        address); -role may be repeated
  passwd USERNAME
        set a new password; the user's earlier tokens stop working
  disable USERNAME
        refuse the user's logins and tokens
  enable USERNAME
        let a disabled user log in again (tokens from before stay refused)
  list
        list every user: ID, username, name, roles, status

add and passwd read the password from standard input: on a terminal,
typed twice without echo; otherwise the first line (as docker's
--password-stdin does), so that

  printf '%s\n' "$PASSWORD" | server users add carol@example.com -role admin

works in scripts. The password must pass the default password policy:
at least 15 characters, at most 1024 bytes, not the username.

Every command takes -db as well, before or after the command.
`

// usersCommand is one of the users subcommands.
type usersCommand struct {
	// args names the positional arguments, for the usage line.
	args string
	// create reports whether the command creates a missing SQLite file.
	create bool
	run    func(u *usersRun, ctx context.Context) error
}

// usersCommands are the users subcommands by name.
var usersCommands = map[string]usersCommand{
	"add":     {"USERNAME", true, (*usersRun).add},
	"passwd":  {"USERNAME", false, (*usersRun).passwd},
	"disable": {"USERNAME", false, (*usersRun).disable},
	"enable":  {"USERNAME", false, (*usersRun).enable},
	"list":    {"", false, (*usersRun).list},
}

// usersRun is one run of a users subcommand.
type usersRun struct {
	cfg      appConfig
	username string
	name     string
	roles    []string
	users    userstore.Manager
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
}

// runUsers runs the users subcommand of args on the database of cfg.db
// (or its own -db flag). It checks every argument before it opens the
// database, so bad input changes nothing.
func runUsers(ctx context.Context, cfg appConfig, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		io.WriteString(stderr, usersUsage)
		if len(args) == 0 {
			return errors.New("users: want a command: add, passwd, disable, enable or list")
		}
		return flag.ErrHelp
	}
	name := args[0]
	cmd, ok := usersCommands[name]
	if !ok {
		io.WriteString(stderr, usersUsage)
		return fmt.Errorf("users: unknown command %q: want add, passwd, disable, enable or list", name)
	}
	u := &usersRun{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("users "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&u.cfg.db, "db", cfg.db, "the `database`: a SQLite file path, a postgres:// URL")
	if name == "add" {
		fs.StringVar(&u.name, "name", "", "the user's display `name`")
		fs.Func("role", "give the user `role` (repeatable)", func(r string) error {
			if !jwtauth.IsScopeToken(r) {
				return errors.New("a role is printable ASCII without spaces, quotes or backslashes")
			}
			u.roles = append(u.roles, r)
			return nil
		})
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: server users %s [flags] %s\n\nFlags:\n", name, cmd.args)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	want := 1
	if cmd.args == "" {
		want = 0
	}
	switch {
	case len(pos) < want:
		fs.Usage()
		return fmt.Errorf("users %s: want a %s", name, cmd.args)
	case len(pos) > want:
		fs.Usage()
		return fmt.Errorf("users %s: unexpected argument %q", name, pos[want])
	}
	if want == 1 {
		u.username = pos[0]
		if _, err := userstore.NormalizeUsername(u.username); err != nil {
			return fmt.Errorf("users %s: username %q: %w", name, u.username, err)
		}
	}
	kind, err := parseDB(u.cfg.db)
	if err != nil {
		return fmt.Errorf("users %s: %w", name, err)
	}
	switch kind {
	case dbMemory:
		return fmt.Errorf("users %s: -db %s is a throwaway store inside one server process: name a SQLite file or a postgres:// URL", name, memoryDB)
	case dbSQLite:
		if _, err := os.Stat(u.cfg.db); !cmd.create && err != nil {
			return fmt.Errorf("users %s: -db %s: %w", name, u.cfg.db, err)
		}
	}
	d, err := openDB(ctx, u.cfg.db)
	if err != nil {
		return fmt.Errorf("users %s: %w", name, err)
	}
	defer d.Close()
	u.users = d.users
	if err := cmd.run(u, ctx); err != nil {
		return fmt.Errorf("users %s: %w", name, err)
	}
	return nil
}

// parseInterspersed parses args with fs, allowing flags after the
// positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// lookup returns the user named by the command line.
func (u *usersRun) lookup(ctx context.Context) (*userstore.User, error) {
	user, err := u.users.UserByUsername(ctx, u.username)
	if errors.Is(err, userstore.ErrNotFound) {
		return nil, fmt.Errorf("no user %q", u.username)
	}
	return user, err
}

// newPasswordHash reads a new password for the user, checks it against
// the password policy and hashes it.
func (u *usersRun) newPasswordHash(ctx context.Context) (string, error) {
	policy := userstore.PasswordPolicy{
		Reject: func(password string) error {
			if n, err := userstore.NormalizeUsername(password); err == nil && n == mustNormalize(u.username) {
				return errors.New("the password is the username")
			}
			return nil
		},
	}
	password, err := readPassword(ctx, u.stdin, u.stderr, u.username, policy.MaxPasswordBytes())
	if err != nil {
		return "", err
	}
	if err := policy.Check(password); err != nil {
		return "", fmt.Errorf("password refused: %w", err)
	}
	h, err := userstore.NewHasher(u.cfg.hasher)
	if err != nil {
		return "", err
	}
	return h.Hash(password)
}

// mustNormalize returns the normal form of a username already checked.
func mustNormalize(username string) string {
	n, _ := userstore.NormalizeUsername(username)
	return n
}

// add creates the user; it prints the new user's ID.
func (u *usersRun) add(ctx context.Context) error {
	switch _, err := u.users.UserByUsername(ctx, u.username); {
	case err == nil:
		return fmt.Errorf("%q exists already", u.username)
	case !errors.Is(err, userstore.ErrNotFound):
		return err
	}
	hash, err := u.newPasswordHash(ctx)
	if err != nil {
		return err
	}
	created, err := u.createUser(ctx, hash)
	if err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "added user %s: %s\n", created.ID, created.Username)
	return nil
}

// createUser stores the user of the command line with the given hash.
func (u *usersRun) createUser(ctx context.Context, hash string) (*userstore.User, error) {
	user := &userstore.User{
		Username:     u.username,
		Name:         u.name,
		PasswordHash: hash,
		Roles:        u.roles,
	}
	if strings.Contains(u.username, "@") {
		user.Email = u.username
	}
	created, err := u.users.CreateUser(ctx, user)
	if errors.Is(err, userstore.ErrDuplicate) {
		return nil, fmt.Errorf("%q exists already", u.username)
	}
	return created, err
}

// passwd sets a new password.
func (u *usersRun) passwd(ctx context.Context) error {
	user, err := u.lookup(ctx)
	if err != nil {
		return err
	}
	hash, err := u.newPasswordHash(ctx)
	if err != nil {
		return err
	}
	if err := u.users.SetPasswordHash(ctx, user.ID, hash); err != nil {
		return err
	}
	fmt.Fprintf(u.stdout, "changed the password of %s; tokens issued before no longer work\n", user.Username)
	return nil
}

// disable disables the user.
func (u *usersRun) disable(ctx context.Context) error { return u.setDisabled(ctx, true) }

// enable re-enables the user.
func (u *usersRun) enable(ctx context.Context) error { return u.setDisabled(ctx, false) }

func (u *usersRun) setDisabled(ctx context.Context, disabled bool) error {
	user, err := u.lookup(ctx)
	if err != nil {
		return err
	}
	if err := u.users.SetDisabled(ctx, user.ID, disabled); err != nil {
		return err
	}
	if disabled {
		fmt.Fprintf(u.stdout, "disabled %s: its logins and tokens are refused\n", user.Username)
	} else {
		fmt.Fprintf(u.stdout, "enabled %s: it may log in again\n", user.Username)
	}
	return nil
}

// list prints every user.
func (u *usersRun) list(ctx context.Context) error {
	w := tabwriter.NewWriter(u.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSERNAME\tNAME\tROLES\tSTATUS")
	opts := userstore.ListOptions{Limit: 1000}
	for {
		page, next, err := u.users.ListUsers(ctx, opts)
		if err != nil {
			return err
		}
		for _, user := range page {
			status := "enabled"
			if user.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", user.ID, user.Username, user.Name, strings.Join(user.Roles, ","), status)
		}
		if next == "" || next == opts.After {
			break
		}
		opts.After = next
	}
	return w.Flush()
}

// readPassword reads a password for username from stdin: on a terminal,
// prompting on stderr and twice without echo; from anything else, the first
// line, of at most maxBytes bytes without its line ending.
func readPassword(ctx context.Context, stdin io.Reader, stderr io.Writer, username string, maxBytes int) (string, error) {
	f, isFile := stdin.(*os.File)
	if isFile {
		if restore, ok := noEcho(f); ok {
			defer restore()
			first, err := promptLine(ctx, f, stderr, "Password for "+username+": ", maxBytes)
			if err != nil {
				return "", err
			}
			again, err := promptLine(ctx, f, stderr, "Again: ", maxBytes)
			if err != nil {
				return "", err
			}
			if first != again {
				return "", errors.New("the passwords differ")
			}
			return first, nil
		}
		if info, err := f.Stat(); !echoControl && err == nil && info.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprintf(stderr, "Password for %s (shown as you type): ", username)
		}
	}
	return readLine(ctx, stdin, maxBytes)
}

// promptLine writes prompt to stderr and reads one line from a terminal
// that does not echo, ending the line itself.
func promptLine(ctx context.Context, f *os.File, stderr io.Writer, prompt string, maxBytes int) (string, error) {
	fmt.Fprint(stderr, prompt)
	s, err := readLine(ctx, f, maxBytes)
	fmt.Fprintln(stderr)
	return s, err
}

// readLine reads the first line of r, of at most maxBytes bytes without
// its "\n" or "\r\n". A last line without a line ending counts. It gives up
// when ctx ends.
func readLine(ctx context.Context, r io.Reader, maxBytes int) (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// Read byte by byte so that nothing past the line is consumed.
		var b []byte
		var c [1]byte
		for len(b) <= maxBytes+1 {
			n, err := r.Read(c[:])
			if n == 1 {
				if c[0] == '\n' {
					break
				}
				b = append(b, c[0])
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				done <- result{err: fmt.Errorf("read password: %w", err)}
				return
			}
		}
		line := strings.TrimSuffix(string(b), "\r")
		switch {
		case line == "":
			done <- result{err: errors.New("no password on standard input: want it on the first line")}
		case len(line) > maxBytes:
			done <- result{err: fmt.Errorf("password refused: over %d bytes", maxBytes)}
		default:
			done <- result{line: line}
		}
	}()
	select {
	case res := <-done:
		return res.line, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
