package rules

import (
	"strings"
	"testing"
	"time"
)

func TestValidID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"42", true},
		{"user-ü", true},
		{strings.Repeat("a", MaxIDBytes), true},
		{strings.Repeat("a", MaxIDBytes+1), false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\u200bb", false}, // zero-width space, a format character
		{"\xff", false},
	}
	for _, tc := range tests {
		if got := ValidID(tc.id); got != tc.want {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestLater(t *testing.T) {
	t.Parallel()
	a := time.Unix(100, 0)
	b := time.Unix(200, 0)
	if got := Later(a, b); !got.Equal(b) {
		t.Errorf("Later(100, 200) = %v, want 200", got.Unix())
	}
	if got := Later(b, a); !got.Equal(b) {
		t.Errorf("Later(200, 100) = %v, want 200: a cut-off never moves back", got.Unix())
	}
}

func TestSameRoles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b []string
		want bool
	}{
		{nil, nil, true},
		{nil, []string{}, true},
		{[]string{"admin", "user"}, []string{"user", "admin", "user"}, true},
		{[]string{"admin"}, []string{"user"}, false},
		{[]string{"admin"}, nil, false},
	}
	for _, tc := range tests {
		if got := SameRoles(tc.a, tc.b); got != tc.want {
			t.Errorf("SameRoles(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	in := []string{"b", "a"}
	SameRoles(in, nil)
	if in[0] != "b" {
		t.Error("SameRoles reordered its argument")
	}
}
