package memory_test

import (
	"testing"

	"github.com/authkit-go/authkit/userstore/memory"
	"github.com/authkit-go/authkit/userstore/storetest"
)

func TestSessionsConformance(t *testing.T) {
	t.Parallel()
	storetest.RunSessions(t, func(t *testing.T) storetest.SessionStore { return memory.NewSessions(nil) })
}

// TestSessionsZeroValue checks that the zero Sessions is a usable store.
func TestSessionsZeroValue(t *testing.T) {
	t.Parallel()
	storetest.RunSessions(t, func(t *testing.T) storetest.SessionStore { return new(memory.Sessions) })
}
