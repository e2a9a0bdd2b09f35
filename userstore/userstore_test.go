package userstore

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNormalizeUsername(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"lowercase", "alice@example.com", "alice@example.com"},
		{"mixed case", "Alice@Example.COM", "alice@example.com"},
		{"surrounding space", "  bob@example.com\t", "bob@example.com"},
		{"fullwidth", "ＡＬＩＣＥ@example.com", "alice@example.com"},
		{"sharp s folds to ss", "Straße", "strasse"},
		{"Kelvin sign", "\u212aelvin", "kelvin"},
		{"composed and decomposed", "A\u030angstr\u00f6m", "\u00e5ngstr\u00f6m"},
		{"ligature", "\ufb01le", "file"},
		{"inner space kept", "Alice Liddell", "alice liddell"},
		{"256 bytes", strings.Repeat("a", 256), strings.Repeat("a", 256)},
		{"non-Latin", "Ölçek", "ölçek"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeUsername(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeUsername(%+q) = %+q, %v; want %+q, nil", tc.in, got, err, tc.want)
			}
			again, err := NormalizeUsername(got)
			if err != nil || again != got {
				t.Errorf("NormalizeUsername(%+q) = %+q, %v; want it unchanged (idempotent)", got, again, err)
			}
		})
	}
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"spaces only", "   "},
		{"invalid UTF-8", "alice\xff"},
		{"NUL", "ali\x00ce"},
		{"newline", "alice\nbob"},
		{"DEL", "alice\x7f"},
		{"zero-width space", "ali\u200bce"},
		{"zero-width joiner", "ali\u200dce"},
		{"right-to-left override", "\u202ealice"},
		{"BOM", "\ufeffalice"},
		{"257 bytes", strings.Repeat("a", 257)},
		{"huge", strings.Repeat("a", 1<<20)},
		{"grows past cap under NFKC", strings.Repeat("\ufdfa", 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NormalizeUsername(tc.in)
			if !errors.Is(err, ErrInvalidUsername) {
				t.Errorf("NormalizeUsername(%.40q) = %.40q, %v; want ErrInvalidUsername", tc.in, got, err)
			}
		})
	}
}

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"Alice@Example.com", "Straße", "\u212a", "\ufdfa", "a\u200bb", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := NormalizeUsername(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidUsername) {
				t.Fatalf("err = %v, want ErrInvalidUsername", err)
			}
			return
		}
		if n == "" || len(n) > MaxUsernameBytes {
			t.Fatalf("NormalizeUsername(%+q) = %+q: empty or over %d bytes", in, n, MaxUsernameBytes)
		}
		if again, err := NormalizeUsername(n); err != nil || again != n {
			t.Fatalf("not idempotent: %+q -> %+q -> %+q, %v", in, n, again, err)
		}
	})
}

// TestNormalizeASCIIFastPath checks that the ASCII fast path agrees with the
// full Unicode path on every name it accepts.
func TestNormalizeASCIIFastPath(t *testing.T) {
	t.Parallel()
	names := []string{"alice@example.com", "Alice@Example.COM", "  Bob ", "KELVIN", "a\tb", "~!#$%^&*()_+{}|:<>?", "x", "\t\n", ""}
	var all []byte
	for c := byte(0x20); c <= 0x7e; c++ {
		all = append(all, c)
	}
	names = append(names, string(all), strings.Repeat("A", MaxUsernameBytes), strings.Repeat("A", MaxUsernameBytes+1))
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			fast, ok := normalizeASCII(name)
			full, err := normalizeUnicode(name)
			if ok && (err != nil || fast != full) {
				t.Errorf("normalizeASCII(%q) = %q; full path = %q, %v", name, fast, full, err)
			}
		})
	}
}

func TestUserClone(t *testing.T) {
	t.Parallel()
	if got := (*User)(nil).Clone(); got != nil {
		t.Errorf("nil.Clone() = %v, want nil", got)
	}
	u := &User{
		ID:               "u1",
		Username:         "alice@example.com",
		PasswordHash:     "$argon2id$" + rand.Text(),
		Roles:            []string{"admin", "user"},
		TokensValidAfter: time.Unix(1700000000, 0),
	}
	c := u.Clone()
	if c == u {
		t.Fatal("Clone returned the same pointer")
	}
	if c.ID != u.ID || c.PasswordHash != u.PasswordHash || !slices.Equal(c.Roles, u.Roles) || !c.TokensValidAfter.Equal(u.TokensValidAfter) {
		t.Errorf("Clone() = %+v, want a copy of %+v", c, u)
	}
	c.Roles[0] = "guest"
	c.Roles = append(c.Roles, "extra")
	c.Username = "mallory@example.com"
	if u.Roles[0] != "admin" || len(u.Roles) != 2 || u.Username != "alice@example.com" {
		t.Errorf("changing the clone changed the original: %+v", u)
	}
	if (&User{}).Clone().Roles != nil {
		t.Error("Clone of nil Roles is not nil")
	}
}

func TestUserHasRole(t *testing.T) {
	t.Parallel()
	u := &User{Roles: []string{"admin", "user"}}
	for _, tc := range []struct {
		role string
		want bool
	}{{"admin", true}, {"user", true}, {"Admin", false}, {"", false}} {
		if got := u.HasRole(tc.role); got != tc.want {
			t.Errorf("HasRole(%q) = %v, want %v", tc.role, got, tc.want)
		}
	}
}

func TestUserLogValue(t *testing.T) {
	t.Parallel()
	hash := "$argon2id$v=19$" + rand.Text()
	u := User{ID: "u1", Username: "alice@example.com", PasswordHash: hash, Roles: []string{"admin"}}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("login", "user", u, "ptr", &u)
	out := buf.String()
	if strings.Contains(out, hash) || strings.Contains(out, "argon2id") {
		t.Errorf("log output contains the password hash: %s", out)
	}
	for _, want := range []string{"user.id=u1", "user.username=alice@example.com", "user.roles=[admin]", "user.disabled=false", "ptr.id=u1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output = %s; want it to contain %s", out, want)
		}
	}
}

func TestUserFormatRedactsHash(t *testing.T) {
	t.Parallel()
	hash := "$argon2id$v=19$m=19456,t=2,p=1$" + rand.Text()
	u := User{
		ID:               "u1",
		Username:         "alice@example.com",
		PasswordHash:     hash,
		Roles:            []string{"admin"},
		TokensValidAfter: time.Unix(1700000000, 0).UTC(),
	}
	type holder struct {
		User  User
		Users []*User
	}
	tests := []struct {
		name   string
		format string
		arg    any
		want   []string // substrings the output must contain
	}{
		{"%v value", "%v", u, []string{"{u1 alice@example.com", redactedHash, "[admin]"}},
		{"%v pointer", "%v", &u, []string{"{u1 alice@example.com", redactedHash}},
		{"%+v value", "%+v", u, []string{"ID:u1", "PasswordHash:" + redactedHash, "Roles:[admin]"}},
		{"%+v pointer", "%+v", &u, []string{"ID:u1", "PasswordHash:" + redactedHash}},
		{"%#v value", "%#v", u, []string{`userstore.User{ID:"u1"`, `PasswordHash:"` + redactedHash + `"`}},
		{"%#v pointer", "%#v", &u, []string{`userstore.User{ID:"u1"`, `PasswordHash:"` + redactedHash + `"`}},
		{"%s value", "%s", u, []string{"alice@example.com", redactedHash}},
		{"%s pointer", "%s", &u, []string{"alice@example.com", redactedHash}},
		{"%q value", "%q", u, []string{`"alice@example.com"`, `"` + redactedHash + `"`}},
		{"%x value", "%x", u, []string{fmt.Sprintf("%x", redactedHash)}},
		{"%30v pointer", "%30v", &u, []string{redactedHash}},
		{"field of a struct", "%+v", holder{User: u}, []string{"PasswordHash:" + redactedHash}},
		{"in a slice, %+v", "%+v", []User{u}, []string{"PasswordHash:" + redactedHash}},
		{"pointer in a struct, %#v", "%#v", holder{Users: []*User{&u}}, []string{"Users:[]*userstore.User{"}},
		{"Println", "", &u, []string{redactedHash}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got string
			if tc.format == "" {
				got = fmt.Sprintln(tc.arg)
			} else {
				got = fmt.Sprintf(tc.format, tc.arg)
			}
			for _, leak := range []string{hash, "argon2id", fmt.Sprintf("%x", hash), fmt.Sprintf("%X", hash)} {
				if strings.Contains(got, leak) {
					t.Errorf("Sprintf(%q, user) = %s: contains the password hash", tc.format, got)
				}
			}
			for _, want := range tc.want {
				if !strings.Contains(got, want) {
					t.Errorf("Sprintf(%q, user) = %s; want it to contain %s", tc.format, got, want)
				}
			}
		})
	}
	if u.PasswordHash != hash {
		t.Errorf("printing changed PasswordHash to %q", u.PasswordHash)
	}
	for name, got := range map[string]string{"String": u.String(), "GoString": u.GoString(), "pointer String": (&u).String()} {
		if strings.Contains(got, hash) || !strings.Contains(got, redactedHash) || !strings.Contains(got, "alice@example.com") {
			t.Errorf("%s() = %s; want the user with the hash redacted", name, got)
		}
	}
	if got, want := u.GoString(), fmt.Sprintf("%#v", u); got != want {
		t.Errorf("GoString() = %s, want %%#v's %s", got, want)
	}
	if got, want := u.String(), fmt.Sprintf("%v", u); got != want {
		t.Errorf("String() = %s, want %%v's %s", got, want)
	}
}

func TestUserFormatEmptyHashAndNil(t *testing.T) {
	t.Parallel()
	if got := fmt.Sprintf("%+v", User{ID: "u1"}); strings.Contains(got, redactedHash) || !strings.Contains(got, "PasswordHash: ") {
		t.Errorf("Sprintf(%%+v, user without hash) = %s; want an empty PasswordHash, not %s", got, redactedHash)
	}
	var nilUser *User
	for _, format := range []string{"%v", "%+v", "%s"} {
		if got := fmt.Sprintf(format, nilUser); got != "<nil>" {
			t.Errorf("Sprintf(%q, (*User)(nil)) = %s, want <nil>", format, got)
		}
	}
}

func TestListOptionsPageLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ limit, want int }{
		{0, 50}, {-1, 50}, {1, 1}, {50, 50}, {999, 999}, {1000, 1000}, {1001, 1000}, {1 << 40, 1000},
	} {
		if got := (ListOptions{Limit: tc.limit}).PageLimit(); got != tc.want {
			t.Errorf("ListOptions{Limit: %d}.PageLimit() = %d, want %d", tc.limit, got, tc.want)
		}
	}
}

// BenchmarkNormalizeUsername compares the ASCII fast path with the full
// Unicode path on the same name, and times a name that needs the full path.
func BenchmarkNormalizeUsername(b *testing.B) {
	for _, bc := range []struct {
		name, username string
		fn             func(string) (string, error)
	}{
		{"ascii", "Alice.Liddell@Example.com", NormalizeUsername},
		{"ascii/full-path", "Alice.Liddell@Example.com", normalizeUnicode},
		{"unicode", "Ａlice.Liddell@Exämple.com", NormalizeUsername},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.fn(bc.username); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
