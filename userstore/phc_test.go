package userstore

import (
	"math"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s      string
		lo, hi uint64
		want   uint64
		ok     bool
	}{
		{"0", 0, 10, 0, true},
		{"7", 1, 10, 7, true},
		{"10", 1, 10, 10, true},
		{"11", 1, 10, 0, false},
		{"9", 1, 5, 0, false}, // a single digit above hi
		{"0", 1, 10, 0, false},
		{"18446744073709551615", 0, math.MaxUint64, math.MaxUint64, true},
		{"18446744073709551616", 0, math.MaxUint64, 0, false},
		{"99999999999999999999999", 0, math.MaxUint64, 0, false},
		{"", 0, 10, 0, false},
		{"00", 0, 10, 0, false},
		{"01", 0, 10, 0, false},
		{"+1", 0, 10, 0, false},
		{"-1", 0, 10, 0, false},
		{" 1", 0, 10, 0, false},
		{"1 ", 0, 10, 0, false},
		{"1e3", 0, 10000, 0, false},
		{"٣", 0, 10, 0, false}, // Arabic-Indic digit three
	} {
		got, ok := parseDecimal(tc.s, tc.lo, tc.hi)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseDecimal(%q, %d, %d) = %d, %v; want %d, %v", tc.s, tc.lo, tc.hi, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHashID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"$argon2id$v=19$...", "argon2id"},
		{"$2b$12$abc", "2b"},
		{"$pbkdf2-sha256$1$a$b", "pbkdf2-sha256"},
		{"$$", ""},
		{"$argon2id", ""},
		{"argon2id$", ""},
		{"", ""},
	} {
		if got := hashID(tc.in); got != tc.want {
			t.Errorf("hashID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
