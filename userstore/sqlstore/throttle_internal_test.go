package sqlstore

import (
	"crypto/rand"
	"testing"
	"time"
)

// TestCapThrottle checks that a throttle table over its cap loses its
// rows that are not held first, soonest to expire first, and keeps the
// held ones.
func TestCapThrottle(t *testing.T) {
	t.Parallel()
	s, db := openSQLiteStore(t, true)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var held, late [][32]byte
	for i := range 100 {
		var k [32]byte
		rand.Read(k[:])
		hold := int64(5)
		if i%4 == 0 {
			hold = 1 // held at its first charge
			held = append(held, k)
		}
		expires := now.Add(time.Hour + time.Duration(i)*time.Second)
		if hold != 1 && i >= 80 {
			late = append(late, k)
		}
		err := s.ChargeThrottle(t.Context(), now, now.Add(-time.Hour), expires, [][32]byte{k}, []int64{hold},
			func(int, int64, time.Time, time.Time) {})
		if err != nil {
			t.Fatalf("ChargeThrottle: %v", err)
		}
	}
	if err := s.capThrottle(t.Context(), 40); err != nil {
		t.Fatalf("capThrottle: %v", err)
	}
	var n int64
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM authkit_throttle").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 40 {
		t.Errorf("rows after the cap = %d, want 40", n)
	}
	found := 0
	err := s.ThrottleRecords(t.Context(), now, append(held, late...), func(int, int64, time.Time, time.Time, []byte) { found++ })
	if err != nil {
		t.Fatalf("ThrottleRecords: %v", err)
	}
	if want := len(held) + len(late); found != want {
		t.Errorf("held and latest rows kept = %d, want %d", found, want)
	}
	if err := s.capThrottle(t.Context(), 40); err != nil {
		t.Fatalf("capThrottle at the cap: %v", err)
	}
}
