package jwtauth

import (
	"context"
	"testing"
)

type ctxTestKey struct{}

func TestPrincipalContext(t *testing.T) {
	t.Parallel()
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxTestKey{}, "kept"))
	ctx := withClaims(parent, &Claims{Subject: "alice"}, nil)

	p, ok := PrincipalFrom(ctx)
	if !ok || p.Subject != "alice" {
		t.Fatalf("PrincipalFrom = %+v, %v; want alice", p, ok)
	}
	if got := ctx.Value(ctxTestKey{}); got != "kept" {
		t.Errorf("Value(ctxTestKey) = %v, want %q", got, "kept")
	}
	if p2, _ := PrincipalFrom(ctx); p2 != p {
		t.Errorf("PrincipalFrom returned %p then %p, want the same principal", p, p2)
	}

	over := WithPrincipal(ctx, &Principal{Subject: "bob"})
	if p, _ := PrincipalFrom(over); p.Subject != "bob" {
		t.Errorf("PrincipalFrom(WithPrincipal(ctx, bob)) = %q, want bob", p.Subject)
	}
	if _, ok := PrincipalFrom(WithPrincipal(ctx, nil)); ok {
		t.Errorf("PrincipalFrom(WithPrincipal(ctx, nil)) reported a principal")
	}
	if _, ok := PrincipalFrom(parent); ok {
		t.Errorf("PrincipalFrom(parent) reported a principal")
	}

	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	cancel()
	<-child.Done() // cancellation reaches through the principal context
	if ctx.Err() != context.Canceled || child.Err() != context.Canceled {
		t.Errorf("Err = %v, %v; want context.Canceled", ctx.Err(), child.Err())
	}
}
