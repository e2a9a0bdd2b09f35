package jwtauth

import "testing"

func TestIsScopeToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"read", true},
		{"api:write", true},
		{"!#$%&'()*+,-./:;<=>?@[]^_`{|}~", true},
		{"", false},
		{"two words", false},
		{`quo"te`, false},
		{`back\slash`, false},
		{"tab\t", false},
		{"del\x7f", false},
		{"café", false},
	} {
		t.Run(tc.s, func(t *testing.T) {
			if got := IsScopeToken(tc.s); got != tc.want {
				t.Errorf("IsScopeToken(%q) = %t, want %t", tc.s, got, tc.want)
			}
		})
	}
}
