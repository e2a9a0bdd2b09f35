package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/sqlstore"
)

func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "authkit.db")))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db, sqlstore.SQLite)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := store.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}

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

	// The database's unique index refuses a second account of that name.
	_, err = store.CreateUser(ctx, &userstore.User{
		Username:     "ALICE@example.com",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
	})
	fmt.Println(errors.Is(err, userstore.ErrDuplicate))

	_, err = store.UserByID(ctx, "no-such-id")
	fmt.Println(errors.Is(err, userstore.ErrNotFound))

	// Output:
	// Alice [admin] true <nil>
	// true
	// true
}
