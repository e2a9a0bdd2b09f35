package jwtauth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// jwksMaxAge is the Cache-Control max-age of [KeySet.JWKSHandler]
// responses. Add a new key to the set at least this long before making it
// the active key, so that verifiers following the JWKS know it in time.
const jwksMaxAge = 5 * time.Minute

// JWKSHandler returns a handler that serves the set's public keys as a JWK
// Set (RFC 7517 §5), for GET and HEAD (other methods get 405 with Allow).
// Only public keys are published, each with "kid", "alg" and "use": "sig";
// private parts are never serialized, and HMAC keys, which have no public
// part, are left out. Responses carry Content-Type application/jwk-set+json
// and Cache-Control: public, max-age=300, so [KeySet.Add] a new key at least
// five minutes before [KeySet.Rotate] makes it the signing key. Errors are
// answered as [WriteError] writes them.
//
// Of the options, only [WithLogger] applies: the handler warns there, once,
// when it is created for a set with no key it can publish (HMAC keys only,
// so that no resource server can verify the tokens through the JWKS), and
// logs an error when a key cannot be published.
func (s *KeySet) JWKSHandler(opts ...Option) http.Handler {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	h := &jwksHandler{keys: s, log: o.log}
	if h.log != nil {
		if snap := s.snapshot(); snap != nil && !publishable(snap) {
			kids := make([]string, 0, len(snap.keys))
			for id := range snap.keys {
				kids = append(kids, id)
			}
			slices.Sort(kids)
			h.log.LogAttrs(context.Background(), slog.LevelWarn,
				"jwtauth: the JWKS publishes no key: HMAC keys have no public part, so resource servers cannot verify these tokens through it",
				slog.Any("kids", kids))
		}
	}
	return h
}

// publishable reports whether snap has a key with a public part.
func publishable(snap *keySnapshot) bool {
	for _, k := range snap.keys {
		if k.pub != nil {
			return true
		}
	}
	return false
}

type jwksHandler struct {
	keys *KeySet
	log  *slog.Logger // nil: no logging
	doc  atomic.Pointer[jwksDoc]
}

type jwksDoc struct {
	version uint64
	body    []byte
	err     error
}

func (h *jwksHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, http.StatusMethodNotAllowed, CodeInvalidRequest, "Method not allowed")
		return
	}
	snap := h.keys.snapshot()
	if snap == nil {
		WriteError(w, http.StatusInternalServerError, "server_error", "No keys to publish")
		return
	}
	doc := h.doc.Load()
	if doc == nil || doc.version != snap.version {
		body, err := marshalJWKS(snap)
		doc = &jwksDoc{version: snap.version, body: body, err: err}
		h.doc.Store(doc)
		if err != nil && h.log != nil {
			h.log.LogAttrs(r.Context(), slog.LevelError, "jwtauth: the JWKS cannot be published", slog.String("reason", err.Error()))
		}
	}
	if doc.err != nil {
		WriteError(w, http.StatusInternalServerError, "server_error", "No keys to publish")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/jwk-set+json")
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(jwksMaxAge/time.Second)))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Length", strconv.Itoa(len(doc.body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(doc.body)
}

// marshalJWKS builds the published set from public keys only. It does not
// use jwk.PublicSetOf, which passes symmetric keys through unchanged.
func marshalJWKS(snap *keySnapshot) ([]byte, error) {
	ids := make([]string, 0, len(snap.keys))
	for id := range snap.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	keys := make([]json.RawMessage, 0, len(ids))
	for _, id := range ids {
		k := snap.keys[id]
		if k.pub == nil {
			continue // HMAC: nothing public to publish
		}
		jk, err := publicJWK(k)
		if err != nil {
			return nil, err
		}
		keys = append(keys, jk)
	}
	return json.Marshal(struct {
		Keys []json.RawMessage `json:"keys"`
	}{keys})
}

// publicJWK returns k's public key as a JWK with kid, alg and use.
func publicJWK(k *Key) ([]byte, error) {
	p := k.Public()
	if p == nil {
		return nil, fmt.Errorf("jwtauth: JWKS: key %s has no public part", k.kid)
	}
	return p.MarshalJWK()
}
