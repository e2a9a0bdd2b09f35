package oauth2pw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/authkit-go/authkit/jwtauth"
	"github.com/authkit-go/authkit/userstore"
)

// CodeUnsupportedTokenType: the revocation endpoint cannot revoke access
// tokens, because refresh tokens are off and no store keeps the denylist
// (RFC 7009 §2.2.1).
const CodeUnsupportedTokenType = "unsupported_token_type"

const descNoDenylist = "Access tokens cannot be revoked here"

// denyMargin is added to an access token's expiry when it is put on the
// denylist, so that no verifier leeway (at most 5 minutes) lets the token
// back in.
const denyMargin = 5 * time.Minute

// tokenForm is a well-formed revocation or introspection request.
type tokenForm struct {
	token string
	creds clientCreds
}

// readTokenForm checks the shape of a revocation or introspection request
// (RFC 7009 §2.1, RFC 7662 §2.1): POST, a form body within the size cap,
// token once and present, token_type_hint at most once, no parameter of
// the request in the query string, client credentials as the token
// endpoint takes them. The hint is ignored: the token's own shape tells
// an access token (a JWT) from a refresh token.
func (h *Handler) readTokenForm(w http.ResponseWriter, r *http.Request) (tokenForm, *tokenError) {
	if r.Method != http.MethodPost {
		return tokenForm{}, newTokenError(http.StatusMethodNotAllowed, CodeInvalidRequest, descPostOnly)
	}
	if inQuery(r.URL.RawQuery) || queryNames(r.URL.RawQuery, "token", "token_type_hint") {
		return tokenForm{}, badRequest(descQueryParams)
	}
	if !isForm(r.Header.Values("Content-Type")) {
		return tokenForm{}, badRequest(descContentType)
	}
	form, e := readForm(w, r, h.cfg.MaxBodyBytes)
	if e != nil {
		return tokenForm{}, e
	}
	for _, p := range [...]string{"token", "token_type_hint", "client_id", "client_secret"} {
		if len(form[p]) > 1 {
			return tokenForm{}, badRequest(descRepeatedParam)
		}
	}
	tf := tokenForm{token: form.Get("token")}
	if tf.token == "" {
		return tokenForm{}, badRequest(descMissingToken)
	}
	if tf.creds, e = readClientCreds(r, form); e != nil {
		return tokenForm{}, e
	}
	return tf, nil
}

// queryNames reports whether the raw query names one of names.
func queryNames(raw string, names ...string) bool {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		name, _, _ := strings.Cut(kv, "=")
		for _, n := range names {
			if name == n {
				return true
			}
		}
	}
	return false
}

// looksLikeJWT reports whether token has the three segments of a compact
// JWS.
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

// RevocationHandler returns the RFC 7009 token revocation endpoint, to
// mount at POST /revoke. Its request is a form with token and an optional
// token_type_hint (ignored), authenticated as requests to the token
// endpoint are: client credentials are checked, and throttled, the same
// way, and a request without any is the default client's.
//
// A refresh token revokes its whole family: the refresh token and every
// token rotated from the same login. An access token goes on the store's
// denylist until it expires, so that a Bearer middleware given the store
// ([jwtauth.WithDenylist]) refuses it on every instance. A client may
// revoke only the tokens issued to it: another client's token, an
// unknown, expired or malformed token are all answered 200 and change
// nothing, as RFC 7009 §2.2 asks, so that the endpoint tells nothing
// about tokens it did not issue to the caller.
//
// Without refresh tokens ([Config.Refresh]) there is no store to keep a
// denylist: access tokens are answered 400 unsupported_token_type. Errors
// are those of the token endpoint (RFC 6749 §5.2), with Cache-Control:
// no-store.
func (h *Handler) RevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := h.revoke(w, r); e != nil {
			writeTokenError(w, h.cfg.Realm, e)
			return
		}
		setNoStore(w.Header())
		w.WriteHeader(http.StatusOK)
	})
}

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) *tokenError {
	ctx := r.Context()
	tf, e := h.readTokenForm(w, r)
	if e != nil {
		return e
	}
	ip := clientIP(r, h.cfg.TrustedProxies)
	cl, e := h.authenticateClient(ctx, tf.creds, ip)
	if e != nil {
		return e
	}
	attrs := []slog.Attr{slog.String("ip", addrString(ip)), slog.String("client_id", cl.id)}
	if looksLikeJWT(tf.token) {
		return h.revokeAccessToken(ctx, tf.token, cl, attrs)
	}
	if h.refresh == nil || len(tf.token) > maxRefreshTokenBytes {
		return nil
	}
	store := h.refresh.store
	famID, _, _, _, err := store.RefreshToken(ctx, refreshDigest(tf.token))
	if err == nil {
		var clientID string
		_, clientID, _, _, _, err = store.RefreshFamily(ctx, famID)
		if err == nil && clientID == cl.id {
			err = store.RevokeRefreshFamily(context.WithoutCancel(ctx), famID)
			if err == nil {
				h.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "oauth2pw: refresh family revoked", append(attrs, slog.String("family", famID))...)
			}
		}
	}
	if err != nil && !errors.Is(err, userstore.ErrNotFound) {
		e := serverError(fmt.Errorf("revoking refresh token: %w", err))
		h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "oauth2pw: revocation error", append(attrs, slog.Any("error", e))...)
		return e
	}
	return nil
}

// revokeAccessToken denies raw if it verifies and was issued to cl.
func (h *Handler) revokeAccessToken(ctx context.Context, raw string, cl *client, attrs []slog.Attr) *tokenError {
	if h.refresh == nil {
		return newTokenError(http.StatusBadRequest, CodeUnsupportedTokenType, descNoDenylist)
	}
	v, ok := h.cfg.Tokens.(jwtauth.Verifier)
	if !ok {
		return nil
	}
	c, err := v.Verify(ctx, raw)
	if err != nil || c.ClientID != cl.id || c.ID == "" {
		return nil
	}
	if err := h.refresh.store.DenyAccessToken(context.WithoutCancel(ctx), c.ID, c.ExpiresAt.Add(denyMargin)); err != nil {
		e := serverError(fmt.Errorf("denying access token: %w", err))
		h.cfg.Logger.LogAttrs(ctx, slog.LevelError, "oauth2pw: revocation error", append(attrs, slog.Any("error", e))...)
		return e
	}
	h.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "oauth2pw: access token revoked", append(attrs, slog.String("jti", c.ID))...)
	return nil
}

// tokenRevoker is the capability of a user store that sign-out everywhere
// uses: [userstore.Manager.RevokeTokens].
type tokenRevoker interface {
	RevokeTokens(ctx context.Context, id string) error
}

// errNoSessions is returned by SignOut for a single session when refresh
// tokens are off.
var errNoSessions = errors.New("oauth2pw: sign-out of one session needs Config.Refresh")

// SignOut ends the session of p, the caller that a Bearer middleware
// authenticated: it denies p's access token until it expires and revokes
// the refresh family it was issued from (its "sid" claim), so that
// neither works again. With everywhere, it revokes every family of the
// user instead, and, if [Config.Users] has a RevokeTokens method (as a
// [userstore.Manager] has), moves the user's TokensValidAfter to now so
// that every access token issued before stops working where the
// middleware loads users ([jwtauth.WithUsers]).
//
// Without refresh tokens ([Config.Refresh]), SignOut of one session
// returns an error, and everywhere needs RevokeTokens. A family of
// another user named by "sid" is left alone.
func (h *Handler) SignOut(ctx context.Context, p *jwtauth.Principal, everywhere bool) error {
	if p == nil || p.Claims == nil || p.Subject == "" {
		return errors.New("oauth2pw: sign-out without a principal")
	}
	ctx = context.WithoutCancel(ctx)
	revoker, canRevoke := h.cfg.Users.(tokenRevoker)
	if h.refresh == nil && !(everywhere && canRevoke) {
		return errNoSessions
	}
	if h.refresh != nil {
		store := h.refresh.store
		if err := store.DenyAccessToken(ctx, p.Claims.ID, p.Claims.ExpiresAt.Add(denyMargin)); err != nil {
			return fmt.Errorf("oauth2pw: sign-out: %w", err)
		}
		if everywhere {
			if err := store.RevokeUserRefreshFamilies(ctx, p.Subject); err != nil {
				return fmt.Errorf("oauth2pw: sign-out: %w", err)
			}
		} else if sid := sessionOf(p.Claims); sid != "" {
			userID, _, _, _, _, err := store.RefreshFamily(ctx, sid)
			if err == nil && userID == p.Subject {
				err = store.RevokeRefreshFamily(ctx, sid)
			}
			if err != nil && !errors.Is(err, userstore.ErrNotFound) {
				return fmt.Errorf("oauth2pw: sign-out: %w", err)
			}
		}
	}
	if everywhere && canRevoke {
		if err := revoker.RevokeTokens(ctx, p.Subject); err != nil {
			return fmt.Errorf("oauth2pw: sign-out: %w", err)
		}
	}
	return nil
}

// SignOutHandler returns the sign-out endpoint, to mount at POST
// /api/logout behind the Bearer middleware ([jwtauth.Middleware]): it
// calls [Handler.SignOut] for the request's [jwtauth.Principal] and
// answers 204. The parameter everywhere, "true" or "false" (or "1", "0";
// absent means false), in the query string or a form body, chooses
// sign-out everywhere. A request without a principal is answered 401 with
// a Bearer challenge, a method other than POST 405, a bad everywhere 400
// invalid_request, and a store failure 500 server_error.
func (h *Handler) SignOutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeTokenError(w, h.cfg.Realm, newTokenError(http.StatusMethodNotAllowed, CodeInvalidRequest, descPostOnly))
			return
		}
		p, ok := jwtauth.PrincipalFrom(r.Context())
		if !ok || p.Claims == nil {
			jwtauth.WriteChallenge(w, jwtauth.DefaultRealm, jwtauth.Challenge{Status: http.StatusUnauthorized})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			writeTokenError(w, h.cfg.Realm, badRequest(descMalformedBody))
			return
		}
		everywhere, ok := parseEverywhere(r.Form["everywhere"])
		if !ok {
			writeTokenError(w, h.cfg.Realm, badRequest(descEverywhere))
			return
		}
		if err := h.SignOut(r.Context(), p, everywhere); err != nil {
			e := serverError(err)
			h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "oauth2pw: sign-out error",
				slog.String("user_id", p.Subject), slog.Any("error", e))
			writeTokenError(w, h.cfg.Realm, e)
			return
		}
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "oauth2pw: signed out",
			slog.String("user_id", p.Subject), slog.Bool("everywhere", everywhere))
		setNoStore(w.Header())
		w.WriteHeader(http.StatusNoContent)
	})
}

// parseEverywhere reads the values of the everywhere parameter: none, or
// one of "true", "1", "false", "0" and "".
func parseEverywhere(v []string) (everywhere, ok bool) {
	switch {
	case len(v) == 0:
		return false, true
	case len(v) > 1:
		return false, false
	}
	switch v[0] {
	case "true", "1":
		return true, true
	case "false", "0", "":
		return false, true
	}
	return false, false
}
