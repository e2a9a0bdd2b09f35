package jwtauth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestKeySetErrors(t *testing.T) {
	t.Parallel()
	a := mustKey(t, EdDSA)
	b := mustKey(t, EdDSA)
	if _, err := NewKeySet(nil); err == nil {
		t.Error("NewKeySet(nil): error = nil, want error")
	}
	if _, err := NewKeySet(a.Public()); err == nil {
		t.Error("NewKeySet(public key): error = nil, want error")
	}
	if _, err := NewKeySet(a, a.Public()); err == nil {
		t.Error("NewKeySet(duplicate kid): error = nil, want error")
	}
	if _, err := NewKeySet(a, nil); err == nil {
		t.Error("NewKeySet(nil verify key): error = nil, want error")
	}
	ks, err := NewKeySet(a)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
	}{
		{"remove active", ks.Remove(a.ID())},
		{"remove unknown", ks.Remove("nope")},
		{"rotate to public", ks.Rotate(b.Public())},
		{"rotate to nil", ks.Rotate(nil)},
		{"rotate to present kid", ks.Rotate(a)},
		{"add nil", ks.Add(nil)},
		{"add present kid", ks.Add(a.Public())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Error("error = nil, want error")
			}
		})
	}
	var zero KeySet
	if err := zero.Add(b); err == nil {
		t.Error("zero KeySet Add: error = nil, want error")
	}
	if zero.Active() != nil {
		t.Error("zero KeySet Active() != nil")
	}
	if _, err := New(Config{Keys: &zero, Issuer: "i", Audience: []string{"a"}}); err == nil {
		t.Error("New(zero KeySet): error = nil, want error")
	}
	if v := ks.snapshot().version; v != 1 {
		t.Errorf("version after failed changes = %d, want 1", v)
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	for _, cacheSize := range []int{-1, 0} {
		t.Run(map[int]string{-1: "uncached", 0: "cached"}[cacheSize], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newTestEnv(t, EdDSA, cacheSize)
			old := e.issue(t, Claims{ClientID: testClient, Subject: "alice", ExpiresAt: testT0.Add(10 * time.Minute)})
			if _, err := e.jwt.Verify(ctx, old); err != nil {
				t.Fatalf("Verify(old) before rotation: %v", err)
			}

			next := mustKey(t, ES256)
			if err := e.keys.Rotate(next); err != nil {
				t.Fatal(err)
			}
			if got := e.keys.Active(); got != next {
				t.Errorf("Active() = %v, want %v", got, next)
			}
			fresh, err := e.jwt.Issue(ctx, Claims{ClientID: testClient, Subject: "bob"})
			if err != nil {
				t.Fatal(err)
			}
			if c, err := e.jwt.Verify(ctx, fresh.Raw); err != nil || c.Subject != "bob" {
				t.Fatalf("Verify(new) = %v, %v", c, err)
			}
			// The retired key still verifies its tokens until they expire.
			if _, err := e.jwt.Verify(ctx, old); err != nil {
				t.Errorf("Verify(old) after rotation: %v", err)
			}
			e.clock.Add(11 * time.Minute)
			if _, err := e.jwt.Verify(ctx, old); !errors.Is(err, ErrTokenExpired) {
				t.Errorf("Verify(old) after exp: error = %v, want ErrTokenExpired", err)
			}
			e.clock.Set(testT0)
			// Removing the retired key invalidates its tokens at once.
			if err := e.keys.Remove(e.key.ID()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.jwt.Verify(ctx, old); !errors.Is(err, ErrTokenInvalid) {
				t.Errorf("Verify(old) after Remove: error = %v, want ErrTokenInvalid", err)
			}
			if _, err := e.jwt.Verify(ctx, fresh.Raw); err != nil {
				t.Errorf("Verify(new) after Remove: %v", err)
			}
			// Adding it back as verification-only restores it.
			if err := e.keys.Add(e.key.Public()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.jwt.Verify(ctx, old); err != nil {
				t.Errorf("Verify(old) after Add: %v", err)
			}
		})
	}
}

func TestKeySetConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, HS256, 0)
	raw := e.issue(t, Claims{ClientID: testClient, Subject: "a"})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			k := mustKey(t, HS256)
			if err := e.keys.Add(k); err != nil {
				t.Error(err)
			}
			if err := e.keys.Remove(k.ID()); err != nil {
				t.Error(err)
			}
		}
	}()
	for range 200 {
		if _, err := e.jwt.Verify(context.Background(), raw); err != nil {
			t.Fatalf("Verify during key changes: %v", err)
		}
	}
	<-done
}
