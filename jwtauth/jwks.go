package jwtauth

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
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
// five minutes before [KeySet.Rotate] makes it the signing key.
func (s *KeySet) JWKSHandler() http.Handler {
	return &jwksHandler{keys: s}
}

type jwksHandler struct {
	keys *KeySet
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
		writeJWKSError(w, http.StatusMethodNotAllowed, CodeInvalidRequest, "Method not allowed")
		return
	}
	snap := h.keys.snapshot()
	if snap == nil {
		writeJWKSError(w, http.StatusInternalServerError, "server_error", "No keys to publish")
		return
	}
	doc := h.doc.Load()
	if doc == nil || doc.version != snap.version {
		body, err := marshalJWKS(snap)
		doc = &jwksDoc{version: snap.version, body: body, err: err}
		h.doc.Store(doc)
	}
	if doc.err != nil {
		writeJWKSError(w, http.StatusInternalServerError, "server_error", "No keys to publish")
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

// writeJWKSError answers with the JSON error body every authkit endpoint
// uses, {"error", "error_description"}. code and desc are constants that
// need no escaping.
func writeJWKSError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, `{"error":"`+code+`","error_description":"`+desc+`"}`+"\n")
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
	jk, err := jwk.FromRaw(k.pub) // k.pub only ever holds a public key
	if err != nil {
		return nil, fmt.Errorf("jwtauth: JWKS: %w", err)
	}
	if isPriv, err := jwk.IsPrivateKey(jk); err != nil || isPriv {
		return nil, fmt.Errorf("jwtauth: JWKS: key %s is not public", k.kid)
	}
	for _, kv := range []struct {
		name  string
		value any
	}{
		{jwk.KeyIDKey, k.kid},
		{jwk.AlgorithmKey, jwa.SignatureAlgorithm(k.alg)},
		{jwk.KeyUsageKey, jwk.ForSignature},
	} {
		if err := jk.Set(kv.name, kv.value); err != nil {
			return nil, fmt.Errorf("jwtauth: JWKS: %w", err)
		}
	}
	return json.Marshal(jk)
}
