package sqlstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/storetest"
)

func TestConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		storetest.Run(t, func(t *testing.T, seed []userstore.User) userstore.Store {
			s, _ := newStore(t, b)
			for _, u := range seed {
				if _, err := s.CreateUser(t.Context(), &u); err != nil {
					t.Fatalf("seeding %q: %v", u.Username, err)
				}
			}
			return s
		})
	})
}

func TestConformanceManager(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		storetest.RunManager(t, func(t *testing.T) userstore.Manager {
			s, _ := newStore(t, b)
			return s
		})
	})
}
