package oauth2pw

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// lockedBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAuditLog checks the events told to the logger, and that neither
// passwords nor tokens reach it.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	e := newEnv(t, func(e *env, c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Throttle.PairLimit = 2
	})
	ok := decodeSuccess(t, post(e.h, login(e.alice.Username, e.alice.password)))
	post(e.h, login("nobody@example.com", e.bob.password))
	post(e.h, login(e.carol.Username, e.carol.password))
	post(e.h, login(e.bob.Username, e.alice.password))
	post(e.h, login(e.bob.Username, e.carol.password))
	post(e.h, login(e.bob.Username, e.bob.password)) // throttled

	type event struct {
		Msg      string `json:"msg"`
		Level    string `json:"level"`
		Reason   string `json:"reason"`
		Username string `json:"username"`
		UserID   string `json:"user_id"`
		IP       string `json:"ip"`
	}
	var got []event
	for line := range strings.Lines(buf.String()) {
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		got = append(got, ev)
	}
	want := []event{
		{"oauth2pw: login succeeded", "INFO", "", "alice@example.com", e.alice.ID, "192.0.2.1"},
		{"oauth2pw: login failed", "WARN", "unknown_user", "nobody@example.com", "", "192.0.2.1"},
		{"oauth2pw: login failed", "WARN", "disabled", "carol@example.com", e.carol.ID, "192.0.2.1"},
		{"oauth2pw: login failed", "WARN", "bad_password", "bob@example.com", e.bob.ID, "192.0.2.1"},
		{"oauth2pw: login failed", "WARN", "bad_password", "bob@example.com", e.bob.ID, "192.0.2.1"},
		{"oauth2pw: login throttled", "WARN", "", "bob@example.com", "", "192.0.2.1"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d:\n%s", len(got), len(want), buf.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for name, secret := range map[string]string{
		"alice's password": e.alice.password, "bob's password": e.bob.password,
		"carol's password": e.carol.password, "access token": ok.AccessToken,
	} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains %s", name)
		}
	}
}

// TestRefusedRequestLogged checks that a request refused for its shape,
// before any login, is logged at level Debug with its address and the
// answer's code and cause, and not at all above Debug.
func TestRefusedRequestLogged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		request func(e *env) *http.Request
		want    string // in the logged error
	}{
		{"Bearer on the token endpoint", func(e *env) *http.Request {
			r := newPost(login(e.bob.Username, e.bob.password).Encode())
			r.Header.Set("Authorization", "Bearer abc")
			return r
		}, "oauth2pw: invalid_client: " + descInvalidClient},
		{"password in the query string", func(e *env) *http.Request {
			r := newPost(login(e.bob.Username, e.bob.password).Encode())
			r.URL.RawQuery = "password=x"
			return r
		}, "oauth2pw: invalid_request: " + descQueryParams},
		{"body cut off", func(e *env) *http.Request {
			r := newPost("")
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader("grant_type=pass"), iotest.ErrReader(errors.New("connection reset"))))
			return r
		}, "oauth2pw: invalid_request: " + descMalformedBody + ": connection reset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
				var buf lockedBuffer
				e := newEnv(t, func(e *env, c *Config) {
					c.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))
				})
				if w := do(e.h, tc.request(e)); w.Code < 400 {
					t.Fatalf("POST /token: status = %d, want an error", w.Code)
				}
				if level > slog.LevelDebug {
					if buf.String() != "" {
						t.Errorf("log at %v = %s, want nothing", level, buf.String())
					}
					continue
				}
				var ev struct {
					Msg, Level, IP, Error string
				}
				if err := json.Unmarshal([]byte(buf.String()), &ev); err != nil {
					t.Fatalf("log %q: %v", buf.String(), err)
				}
				if ev.Msg != "oauth2pw: request refused" || ev.Level != "DEBUG" || ev.IP != "192.0.2.1" || ev.Error != tc.want {
					t.Errorf("event = %+v, want DEBUG request refused from 192.0.2.1 with error %q", ev, tc.want)
				}
			}
		})
	}
}
