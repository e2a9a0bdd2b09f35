package memory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

func ExampleNew() {
	ctx := context.Background()
	store := memory.New()

	// A real application stores the output of a userstore.PasswordHasher;
	// the store treats the hash as an opaque string.
	alice, err := store.CreateUser(ctx, &userstore.User{
		Username:     "alice@example.com",
		Name:         "Alice",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Roles:        []string{"admin"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Login names are compared after Unicode NFKC and case folding.
	u, err := store.UserByUsername(ctx, "Alice@Example.COM")
	fmt.Println(u.Name, u.Roles, u.ID == alice.ID, err)

	_, err = store.CreateUser(ctx, &userstore.User{
		Username:     "ALICE@example.com",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
	})
	fmt.Println(errors.Is(err, userstore.ErrDuplicate))

	// Output:
	// Alice [admin] true <nil>
	// true
}
