package userstore_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/authkit-go/authkit/userstore"
)

// Example hashes a new password with the dispatching hasher and checks a
// login attempt. Production code passes HasherConfig{} (argon2id at OWASP's
// parameters); the example uses cheap parameters to run fast.
func Example() {
	cheap, err := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	hasher, err := userstore.NewHasher(userstore.HasherConfig{Preferred: cheap})
	if err != nil {
		fmt.Println(err)
		return
	}

	var policy userstore.PasswordPolicy // the default: at least 15 characters
	fmt.Println(errors.Is(policy.Check("hunter2"), userstore.ErrPasswordTooShort))

	password := rand.Text() // what the user typed: 26 characters
	fmt.Println(policy.Check(password))

	encoded, err := hasher.Hash(password)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(encoded, "$argon2id$v=19$m=64,t=1,p=1$"))

	ok, err := hasher.Verify(encoded, password)
	fmt.Println(ok, err)
	ok, err = hasher.Verify(encoded, password+"!")
	fmt.Println(ok, err)
	fmt.Println(hasher.NeedsRehash(encoded))
	// Output:
	// true
	// <nil>
	// true
	// true <nil>
	// false <nil>
	// false
}

// ExampleHasher_NeedsRehash upgrades a hash on login: a bcrypt hash
// migrated from another system verifies, and is replaced by an argon2id
// hash of the same password.
func ExampleHasher_NeedsRehash() {
	cheap, _ := userstore.NewInsecureArgon2id(userstore.Argon2idParams{Memory: 64, Time: 1, Threads: 1})
	hasher, _ := userstore.NewHasher(userstore.HasherConfig{Preferred: cheap})

	password := rand.Text()
	legacyHasher, _ := userstore.NewInsecureBcrypt(4)
	stored, _ := legacyHasher.Hash(password)

	ok, err := hasher.Verify(stored, password)
	fmt.Println("login:", ok, err)
	if ok && hasher.NeedsRehash(stored) {
		stored, _ = hasher.Hash(password) // store it with UpgradePasswordHash
	}
	fmt.Println(stored[:10], hasher.NeedsRehash(stored))
	// Output:
	// login: true <nil>
	// $argon2id$ false
}

// ExamplePasswordPolicy_Check shows a multi-factor policy with a hook that
// refuses passwords from a deny list.
func ExamplePasswordPolicy_Check() {
	policy := userstore.PasswordPolicy{
		MinLength: 8,
		Reject: func(password string) error {
			if strings.EqualFold(password, "Password1234") {
				return errors.New("common password")
			}
			return nil
		},
	}
	for _, pw := range []string{"short", "Password1234", "pass phrase 🙂", strings.Repeat("x", 2000)} {
		fmt.Println(policy.Check(pw))
	}
	// Output:
	// userstore: password too short: 5 characters, want at least 8
	// userstore: password rejected: common password
	// <nil>
	// userstore: password too long: over 1024 bytes
}
