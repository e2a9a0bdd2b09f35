package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/authkit-go/authkit/userstore"
	"github.com/authkit-go/authkit/userstore/memory"
)

const benchUsers = 100

// benchStores runs f for the memory store (for reference), SQLite and
// PostgreSQL (skipped without a DSN), each holding benchUsers users.
func benchStores(b *testing.B, f func(b *testing.B, s userstore.Store, users []*userstore.User)) {
	stores := []struct {
		name string
		open func(b *testing.B) userstore.Manager
	}{
		{"memory", func(*testing.B) userstore.Manager { return memory.New() }},
		{"sqlite", func(b *testing.B) userstore.Manager { s, _ := newStore(b, backends[0]); return s }},
		{"postgres", func(b *testing.B) userstore.Manager { s, _ := newStore(b, backends[1]); return s }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			m := st.open(b)
			users := make([]*userstore.User, benchUsers)
			for i := range users {
				users[i] = mustCreate(b, m, fmt.Sprintf("User%03d@Example.com", i), "user")
			}
			b.ReportAllocs()
			b.ResetTimer()
			f(b, m, users)
		})
	}
}

func BenchmarkUserByID(b *testing.B) {
	benchStores(b, func(b *testing.B, s userstore.Store, users []*userstore.User) {
		i := 0
		for b.Loop() {
			if _, err := s.UserByID(b.Context(), users[i%len(users)].ID); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkUserByUsername(b *testing.B) {
	benchStores(b, func(b *testing.B, s userstore.Store, users []*userstore.User) {
		i := 0
		for b.Loop() {
			if _, err := s.UserByUsername(b.Context(), users[i%len(users)].Username); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkUserByIDParallel(b *testing.B) {
	benchStores(b, func(b *testing.B, s userstore.Store, users []*userstore.User) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.UserByID(b.Context(), users[i%len(users)].ID); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}
