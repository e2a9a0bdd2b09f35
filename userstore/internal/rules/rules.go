// Package rules holds the record rules that every store in userstore's
// sub-packages applies alike, so that memory.Store and sqlstore.Store pass
// storetest for the same reasons.
package rules

import (
	"slices"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxIDBytes bounds the length of a caller-chosen user ID.
const MaxIDBytes = 256

// ValidID reports whether id is one a store may hold: valid UTF-8, at most
// MaxIDBytes bytes, no control or format characters.
func ValidID(id string) bool {
	if len(id) > MaxIDBytes || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// Later returns the later of the stored cut-off t and now, so that a
// cut-off (TokensValidAfter) never moves backwards.
func Later(t, now time.Time) time.Time {
	if now.After(t) {
		return now
	}
	return t
}

// SameRoles reports whether a and b hold the same roles, ignoring order and
// repetition.
func SameRoles(a, b []string) bool {
	return slices.Equal(set(a), set(b))
}

// set returns the distinct elements of s, sorted, in a new slice.
func set(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
