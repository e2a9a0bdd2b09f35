package sqlstore_test

import (
	"crypto/rand"
	"testing"
	"time"
)

// BenchmarkSessionOps measures the store calls of one refresh on their
// own: the two reads, the rotation, and the denylist's upsert and read.
func BenchmarkSessionOps(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s, _ := newStore(b, be)
			ctx := b.Context()
			far := sessionBase.Add(1000 * time.Hour)
			tok := mustFamily(b, s, "f", "u1", far, far)
			b.Run("RefreshToken", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, _, _, _, err := s.RefreshToken(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("RefreshFamily", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, _, _, _, _, err := s.RefreshFamily(ctx, "f"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("RotateRefreshToken", func(b *testing.B) {
				b.ReportAllocs()
				now := sessionBase
				for b.Loop() {
					next := tokenDigest()
					now = now.Add(time.Second)
					if err := s.RotateRefreshToken(ctx, tok, next, now, far, []byte("sealed successor of seventy-one bytes or so, like the real one.......")); err != nil {
						b.Fatal(err)
					}
					tok = next
				}
			})
			b.Run("DenyAccessToken", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := s.DenyAccessToken(ctx, rand.Text(), far); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Denied", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.Denied(ctx, "some-jti"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
