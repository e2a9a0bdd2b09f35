package oauth2pw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// introspection is the RFC 7662 §2.2 answer. An inactive token's answer
// is {"active":false} and nothing more.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       []string `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
}

// IntrospectionHandler returns the RFC 7662 token introspection endpoint,
// to mount at POST /introspect, for resource servers that would rather ask
// than verify tokens themselves. The caller must authenticate as a
// confidential client of [Config.Clients] (HTTP Basic, or client_id and
// client_secret in the form), throttled as at the token endpoint;
// anything else is answered 401 invalid_client.
//
// The request is a form with token and an optional token_type_hint
// (ignored). An access token is active if it verifies with [Config.Tokens]
// (which must then also be a [jwtauth.Verifier], as a [jwtauth.JWT] is),
// is not on the denylist, and its user exists, is enabled, and has not had
// its tokens cut off since it was issued; the answer then carries "scope",
// "client_id", "token_type" ("Bearer"), "exp", "iat", "sub", "aud", "iss"
// and "jti". A refresh token is active if it is its family's live token,
// unexpired, and its user passes the same checks; the answer carries
// "scope", "client_id", "token_type" ("refresh_token"), "exp", "iat" (the
// login) and "sub". Every other token, whatever is wrong with it, gets
// {"active":false} and nothing more. A store failure is answered 500
// server_error. Every answer carries Cache-Control: no-store.
func (h *Handler) IntrospectionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ans, e := h.introspect(w, r)
		if e != nil {
			writeTokenError(w, h.cfg.Realm, e)
			return
		}
		writeAnswer(w, ans)
	})
}

func (h *Handler) introspect(w http.ResponseWriter, r *http.Request) (*introspection, *tokenError) {
	ctx := r.Context()
	tf, e := h.readTokenForm(w, r)
	if e != nil {
		return nil, e
	}
	ip := clientIP(r, h.cfg.TrustedProxies)
	if tf.creds.secret == "" {
		return nil, h.clientFailed(ctx, ip, "public_client")
	}
	cl, e := h.authenticateClient(ctx, tf.creds, ip)
	if e != nil {
		return nil, e
	}
	if cl.public {
		return nil, h.clientFailed(ctx, ip, "public_client")
	}
	var ans *introspection
	var err error
	if looksLikeJWT(tf.token) {
		ans, err = h.introspectAccess(ctx, tf.token)
	} else {
		ans, err = h.introspectRefresh(ctx, tf.token)
	}
	if err != nil {
		e := serverError(fmt.Errorf("introspecting token: %w", err))
		h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "oauth2pw: introspection error",
			slog.String("ip", addrString(ip)), slog.String("client_id", cl.id), slog.Any("error", e))
		return nil, e
	}
	if ans == nil {
		ans = &introspection{}
	}
	return ans, nil
}

// introspectAccess returns the answer for an active access token, nil
// for an inactive one, or a store's error.
func (h *Handler) introspectAccess(ctx context.Context, raw string) (*introspection, error) {
	v, ok := h.cfg.Tokens.(jwtauth.Verifier)
	if !ok {
		return nil, nil
	}
	c, err := v.Verify(ctx, raw)
	if err != nil || c.Subject == "" {
		return nil, nil
	}
	if h.refresh != nil {
		switch denied, err := h.refresh.store.Denied(ctx, c.ID); {
		case err != nil:
			return nil, err
		case denied:
			return nil, nil
		}
	}
	u, err := h.liveUser(ctx, c.Subject)
	if err != nil || u == nil || c.IssuedAt.Unix() < u.TokensValidAfter.Unix() {
		return nil, err
	}
	return &introspection{
		Active:    true,
		Scope:     strings.Join(c.Scope, " "),
		ClientID:  c.ClientID,
		TokenType: "Bearer",
		Exp:       c.ExpiresAt.Unix(),
		Iat:       c.IssuedAt.Unix(),
		Sub:       c.Subject,
		Aud:       c.Audience,
		Iss:       c.Issuer,
		Jti:       c.ID,
	}, nil
}

// introspectRefresh returns the answer for an active refresh token, nil
// for an inactive one, or a store's error.
func (h *Handler) introspectRefresh(ctx context.Context, raw string) (*introspection, error) {
	if h.refresh == nil || len(raw) > maxRefreshTokenBytes {
		return nil, nil
	}
	store, now := h.refresh.store, h.refresh.now()
	famID, expires, spent, _, err := store.RefreshToken(ctx, refreshDigest(raw))
	if err != nil || !spent.IsZero() || !now.Before(expires) {
		return nil, ignoreNotFound(err)
	}
	userID, clientID, scope, created, famExpires, err := store.RefreshFamily(ctx, famID)
	if err != nil || !now.Before(famExpires) {
		return nil, ignoreNotFound(err)
	}
	u, err := h.liveUser(ctx, userID)
	if err != nil || u == nil || created.Before(u.TokensValidAfter) {
		return nil, err
	}
	return &introspection{
		Active:    true,
		Scope:     strings.Join(scope, " "),
		ClientID:  clientID,
		TokenType: "refresh_token",
		Exp:       expires.Unix(),
		Iat:       created.Unix(),
		Sub:       userID,
	}, nil
}

// liveUser returns the enabled user of id, nil if there is none or they
// are disabled, or the store's error.
func (h *Handler) liveUser(ctx context.Context, id string) (*userstore.User, error) {
	u, err := h.cfg.Users.UserByID(ctx, id)
	if err != nil || u == nil || u.Disabled {
		return nil, ignoreNotFound(err)
	}
	return u, nil
}

// ignoreNotFound returns err unless it wraps [userstore.ErrNotFound].
func ignoreNotFound(err error) error {
	if errors.Is(err, userstore.ErrNotFound) {
		return nil
	}
	return err
}
