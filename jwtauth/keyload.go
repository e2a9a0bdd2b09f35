package jwtauth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// ParseKeys returns the keys in data, which is one of:
//
//   - PEM holding one key: a PKCS #8 private key ("PRIVATE KEY"), a PKCS #1
//     RSA private key ("RSA PRIVATE KEY"), a SEC 1 EC private key ("EC
//     PRIVATE KEY"), a PKIX public key ("PUBLIC KEY") or a PKCS #1 RSA
//     public key ("RSA PUBLIC KEY"). The algorithm is inferred from the key
//     type (RSA gives RS256, P-256 ES256, P-384 ES384, P-521 ES512, Ed25519
//     EdDSA) and the ID derived as [NewKey] derives it. Encrypted PEM and
//     data with more than one key are refused.
//   - A JWK (RFC 7517) or JWK Set JSON document, private or public. A
//     symmetric key ("kty": "oct") must carry an "alg" of HS256, HS384 or
//     HS512; an asymmetric key without "alg" gets the algorithm inferred
//     as for PEM; a key without "kid" gets a derived ID. Keys marked
//     "use": "enc", unsupported key types and repeated key IDs are
//     refused.
//
// The two are told apart by content: JSON starts with '{'. Private keys
// and HMAC secrets give signing keys, public keys verification-only ones.
// [Key.MarshalPEM] and [Key.MarshalJWK] write keys that ParseKeys reads
// back. Callers read the file themselves:
//
//	data, err := os.ReadFile(path)
//	...
//	keys, err := jwtauth.ParseKeys(data)
func ParseKeys(data []byte) ([]*Key, error) {
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return parseKeysJSON(t)
	}
	k, err := parseKeyPEM(data)
	if err != nil {
		return nil, err
	}
	return []*Key{k}, nil
}

// parseKeyPEM returns the key in the first PEM block of data that holds a
// key: a PKCS #8 private key ("PRIVATE KEY"), a PKCS #1 RSA private key ("RSA
// PRIVATE KEY"), a SEC 1 EC private key ("EC PRIVATE KEY"), a PKIX public key
// ("PUBLIC KEY") or a PKCS #1 RSA public key ("RSA PUBLIC KEY"). Private keys
// give signing keys, public keys verification-only ones. Encrypted PEM blocks
// and data with more than one key are refused. The algorithm is inferred
// from the key type and the ID derived.
func parseKeyPEM(data []byte) (*Key, error) {
	var found crypto.PrivateKey
	var isPublic bool
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted {
			return nil, errors.New("jwtauth: encrypted PEM keys are not supported")
		}
		var key crypto.PrivateKey
		var err error
		public := false
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
			public = true
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
			public = true
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("jwtauth: encrypted PEM keys are not supported")
		default:
			continue // e.g. "EC PARAMETERS"
		}
		if err != nil {
			return nil, fmt.Errorf("jwtauth: parse PEM %s: %w", block.Type, err)
		}
		if found != nil {
			return nil, errors.New("jwtauth: PEM data holds more than one key")
		}
		found, isPublic = key, public
	}
	if found == nil {
		return nil, errors.New("jwtauth: no PEM key found")
	}
	if isPublic {
		return NewPublicKey(inferAlg(found), found, "")
	}
	var alg Algorithm
	if s, ok := found.(crypto.Signer); ok {
		alg = inferAlg(s.Public())
	}
	return NewKey(alg, found, "")
}

// inferAlg returns the default algorithm for a public key's type, or "" when
// there is none. It is used when loading keys, never for a token.
func inferAlg(pub crypto.PublicKey) Algorithm {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return RS256
	case ed25519.PublicKey:
		return EdDSA
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return ES256
		case elliptic.P384():
			return ES384
		case elliptic.P521():
			return ES512
		}
	}
	return ""
}

// parseKeysJSON returns the keys of a JWK or JWK Set JSON document, as
// [ParseKeys] describes.
func parseKeysJSON(data []byte) ([]*Key, error) {
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, errors.New("jwtauth: invalid JWK or JWK Set JSON")
	}
	if set.Len() == 0 {
		return nil, errors.New("jwtauth: JWK Set holds no keys")
	}
	keys := make([]*Key, 0, set.Len())
	seen := make(map[string]bool, set.Len())
	for i := range set.Len() {
		jk, _ := set.Key(i)
		k, err := keyFromJWK(jk, false)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: JWK %d: %w", i, err)
		}
		if seen[k.kid] {
			return nil, fmt.Errorf("jwtauth: JWK %d: duplicate key ID %q", i, k.kid)
		}
		seen[k.kid] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// keyFromJWK converts a jwx key. With remote set, only asymmetric keys
// carrying "alg" and "kid", and whose "key_ops", if any, include "verify",
// are accepted, and only their public part is kept.
func keyFromJWK(jk jwk.Key, remote bool) (*Key, error) {
	if use := jk.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, fmt.Errorf("key use %q is not signing", use)
	}
	if remote {
		// RFC 7517 §4.3: a key_ops member lists every permitted operation.
		if ops, ok := jk.Get(jwk.KeyOpsKey); ok {
			list, _ := ops.(jwk.KeyOperationList)
			if !slices.Contains(list, jwk.KeyOpVerify) {
				return nil, errors.New(`remote key whose "key_ops" exclude "verify"`)
			}
		}
	}
	alg := Algorithm(jk.Algorithm().String())
	kid := jk.KeyID()
	if remote {
		if alg == "" {
			return nil, errors.New(`remote key without "alg"`)
		}
		if kid == "" {
			return nil, errors.New(`remote key without "kid"`)
		}
	}
	if alg != "" {
		if fam, _ := alg.family(); fam == famNone {
			return nil, unsupportedAlg(alg)
		}
	}
	if jk.KeyType() == jwa.OctetSeq {
		if remote {
			return nil, errors.New("symmetric keys are never accepted from a remote set")
		}
		if alg == "" {
			return nil, errors.New(`symmetric key without "alg"`)
		}
		var secret []byte
		if err := jk.Raw(&secret); err != nil {
			return nil, errors.New("invalid symmetric key")
		}
		return NewKey(alg, secret, kid)
	}
	if remote {
		pub, err := jwk.PublicRawKeyOf(jk)
		if err != nil {
			return nil, errors.New("invalid public key")
		}
		return NewPublicKey(alg, pub, kid)
	}
	var raw any
	if err := jk.Raw(&raw); err != nil {
		return nil, errors.New("invalid key")
	}
	switch raw := raw.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		if alg == "" {
			alg = inferAlg(raw.(crypto.Signer).Public())
		}
		return NewKey(alg, raw, kid)
	default:
		if alg == "" {
			alg = inferAlg(raw)
		}
		return NewPublicKey(alg, raw, kid)
	}
}

// MarshalPEM returns k as PEM, for keeping a generated key in a file that
// [ParseKeys] reads back: a signing key as a PKCS #8 "PRIVATE KEY", a
// verification-only key as a PKIX "PUBLIC KEY". PEM carries neither the key
// ID nor the algorithm, which ParseKeys derives and infers again: keep a
// key with a chosen ID or an algorithm other than the inferred one (RS384,
// PS256, ...) with [Key.MarshalJWK]. HMAC secrets have no PEM form and give
// an error.
//
// The output of a signing key is the private key: store it like a password
// (file mode 0600, never in a repository), and never publish it; the
// [KeySet.JWKSHandler] publishes the public part.
func (k *Key) MarshalPEM() ([]byte, error) {
	switch {
	case k.secret != nil:
		return nil, fmt.Errorf("jwtauth: %s key %s: HMAC secrets have no PEM form; use MarshalJWK", k.alg, k.kid)
	case k.signer != nil:
		der, err := x509.MarshalPKCS8PrivateKey(k.signer)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: marshal key %s: %w", k.kid, err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	case k.pub != nil:
		der, err := x509.MarshalPKIXPublicKey(k.pub)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: marshal key %s: %w", k.kid, err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
	}
	return nil, errors.New("jwtauth: marshal key: not a key made by this package")
}

// MarshalJWK returns k as a JWK (RFC 7517) JSON object with its "kid",
// "alg" and "use": "sig", which [ParseKeys] reads back as the same key: an
// HMAC secret as "kty": "oct", a signing key with its private members, a
// verification-only key with its public members only. The output of a
// signing key is the private key or secret: store it like a password, and
// never publish it (the [KeySet.JWKSHandler] publishes public parts only).
func (k *Key) MarshalJWK() ([]byte, error) {
	var raw any
	switch {
	case k.secret != nil:
		raw = k.secret
	case k.signer != nil:
		raw = k.signer
	case k.pub != nil:
		raw = k.pub
	default:
		return nil, errors.New("jwtauth: marshal key: not a key made by this package")
	}
	jk, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: marshal key %s: %w", k.kid, err)
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
			return nil, fmt.Errorf("jwtauth: marshal key %s: %w", k.kid, err)
		}
	}
	b, err := json.Marshal(jk)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: marshal key %s: %w", k.kid, err)
	}
	return b, nil
}
