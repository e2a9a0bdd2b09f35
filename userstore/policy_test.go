package userstore

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

func TestPasswordPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		p     PasswordPolicy
		valid bool
	}{
		{"zero", PasswordPolicy{}, true},
		{"MFA floor", PasswordPolicy{MinLength: 8}, true},
		{"below MFA floor", PasswordPolicy{MinLength: 7}, false},
		{"negative MinLength", PasswordPolicy{MinLength: -1}, false},
		{"MaxBytes 256", PasswordPolicy{MaxBytes: 256}, true},
		{"MaxBytes 255", PasswordPolicy{MaxBytes: 255}, false},
		{"MaxBytes 64", PasswordPolicy{MaxBytes: 64}, false},
		{"negative MaxBytes", PasswordPolicy{MaxBytes: -1}, false},
		{"MinLength above MaxBytes", PasswordPolicy{MinLength: 300, MaxBytes: 299}, false},
		{"MinLength equal MaxBytes", PasswordPolicy{MinLength: 300, MaxBytes: 300}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.p.Validate()
			if tc.valid && err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
			if !tc.valid && !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("Validate() = %v, want ErrInvalidPolicy", err)
			}
			if !tc.valid {
				if err := tc.p.Check(strings.Repeat("a", 300)); !errors.Is(err, ErrInvalidPolicy) {
					t.Errorf("Check on invalid policy = %v, want ErrInvalidPolicy", err)
				}
			}
		})
	}
}

func TestPasswordPolicyMaxPasswordBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    PasswordPolicy
		want int
	}{
		{PasswordPolicy{}, 1024},
		{PasswordPolicy{MaxBytes: 300}, 300},
		{PasswordPolicy{MaxBytes: 4096}, 4096},
	} {
		if got := tc.p.MaxPasswordBytes(); got != tc.want {
			t.Errorf("%+v.MaxPasswordBytes() = %d, want %d", tc.p, got, tc.want)
		}
	}
}

// letters returns n random characters from the Base32 alphabet.
func letters(n int) string {
	return strings.Repeat(rand.Text(), n/26+1)[:n]
}

func TestPasswordPolicyCheck(t *testing.T) {
	t.Parallel()
	mfa := PasswordPolicy{MinLength: 8}
	errHook := errors.New("found in breach corpus")
	banned := letters(20)
	hooked := PasswordPolicy{Reject: func(pw string) error {
		if pw == banned {
			return errHook
		}
		return nil
	}}
	for _, tc := range []struct {
		name     string
		p        PasswordPolicy
		password string
		want     error // nil: accepted
	}{
		{"default: 15 characters", PasswordPolicy{}, letters(15), nil},
		{"default: 14 characters", PasswordPolicy{}, letters(14), ErrPasswordTooShort},
		{"default: empty", PasswordPolicy{}, "", ErrPasswordTooShort},
		{"MFA: 8 characters", mfa, letters(8), nil},
		{"MFA: 7 characters", mfa, letters(7), ErrPasswordTooShort},
		{"64 characters", PasswordPolicy{}, letters(64), nil},
		{"64 four-byte emoji at the smallest cap", PasswordPolicy{MaxBytes: 256}, strings.Repeat("🔑", 64), nil},
		{"1024 bytes", PasswordPolicy{}, letters(1024), nil},
		{"1025 bytes", PasswordPolicy{}, letters(1025), ErrPasswordTooLong},
		{"custom cap", PasswordPolicy{MaxBytes: 300}, letters(301), ErrPasswordTooLong},
		{"NFKC growth past the cap", PasswordPolicy{MaxBytes: 300}, strings.Repeat("\ufdfa", 20), ErrPasswordTooLong},
		{"lowercase letters only", PasswordPolicy{}, strings.ToLower(letters(15)), nil},
		{"digits only", PasswordPolicy{}, "123456789012345", nil},
		{"spaces", PasswordPolicy{}, "correct horse battery " + letters(4), nil},
		{"all spaces", PasswordPolicy{}, strings.Repeat(" ", 15), nil},
		{"emoji count as characters", PasswordPolicy{}, strings.Repeat("🙂", 15), nil},
		{"14 emoji", PasswordPolicy{}, strings.Repeat("🙂", 14), ErrPasswordTooShort},
		{"CJK", PasswordPolicy{}, "我的密码是一个很长的句子真的很长", nil},
		{"decomposed counts after NFKC", PasswordPolicy{}, strings.Repeat("A\u030a", 14), ErrPasswordTooShort},
		{"ligature counts after NFKC", PasswordPolicy{}, strings.Repeat("\ufb03", 5), nil},
		{"invalid UTF-8", PasswordPolicy{}, letters(15) + "\xff", ErrInvalidPassword},
		{"hook accepts", hooked, letters(20), nil},
		{"hook rejects", hooked, banned, ErrPasswordRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.p.Check(tc.password)
			if tc.want == nil && err != nil {
				t.Errorf("Check = %v, want nil", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Check = %v, want %v", err, tc.want)
			}
			if err != nil && tc.password != "" && strings.Contains(err.Error(), tc.password) {
				t.Errorf("Check error %q contains the password", err)
			}
		})
	}
	t.Run("hook error wrapped", func(t *testing.T) {
		if err := hooked.Check(banned); !errors.Is(err, errHook) {
			t.Errorf("Check = %v, want it to wrap the hook's error", err)
		}
	})
	t.Run("hook sees NFKC form", func(t *testing.T) {
		var got string
		p := PasswordPolicy{Reject: func(pw string) error { got = pw; return nil }}
		suffix := letters(15)
		if err := p.Check("A\u030a" + suffix); err != nil {
			t.Fatal(err)
		}
		if want := "\u00c5" + suffix; got != want {
			t.Errorf("hook got %+q, want %+q", got, want)
		}
	})
	t.Run("hook not called on short password", func(t *testing.T) {
		called := false
		p := PasswordPolicy{Reject: func(string) error { called = true; return nil }}
		p.Check(letters(3))
		if called {
			t.Error("Reject called for a password that failed the length check")
		}
	})
}

func FuzzPasswordPolicyCheck(f *testing.F) {
	for _, s := range []string{"", "\xff", "\ufdfa", "A\u030a", strings.Repeat("🙂", 15)} {
		f.Add(s)
	}
	p := PasswordPolicy{MinLength: 8, MaxBytes: 256}
	f.Fuzz(func(t *testing.T, pw string) {
		err := p.Check(pw)
		if err == nil && len(pw) > p.MaxPasswordBytes() {
			t.Fatalf("Check accepted %d bytes over the %d cap", len(pw), p.MaxPasswordBytes())
		}
		if err != nil && !errors.Is(err, ErrPasswordTooShort) && !errors.Is(err, ErrPasswordTooLong) && !errors.Is(err, ErrInvalidPassword) {
			t.Fatalf("Check = %v, want nil or a policy error", err)
		}
	})
}
