package jwtauth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// maxKeyFileBytes bounds what LoadKeyFile reads.
const maxKeyFileBytes = 1 << 20

// ParseKeyPEM returns the key in the first PEM block of data that holds a
// key: a PKCS #8 private key ("PRIVATE KEY"), a PKCS #1 RSA private key ("RSA
// PRIVATE KEY"), a SEC 1 EC private key ("EC PRIVATE KEY"), a PKIX public key
// ("PUBLIC KEY") or a PKCS #1 RSA public key ("RSA PUBLIC KEY"). Private keys
// give signing keys, public keys verification-only ones. Encrypted PEM blocks
// and data with more than one key are refused.
//
// An empty alg is inferred from the key type, at load time only: RSA gives
// RS256, P-256 ES256, P-384 ES384, P-521 ES512 and Ed25519 EdDSA. An empty
// kid is derived as [NewKey] does.
func ParseKeyPEM(data []byte, alg Algorithm, kid string) (*Key, error) {
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
		if alg == "" {
			alg = inferAlg(found)
		}
		return NewPublicKey(alg, found, kid)
	}
	if alg == "" {
		if s, ok := found.(crypto.Signer); ok {
			alg = inferAlg(s.Public())
		}
	}
	return NewKey(alg, found, kid)
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

// ParseKeysJSON returns the keys of a JWK (RFC 7517) or JWK Set JSON
// document, private or public. A symmetric key ("kty": "oct") must carry an
// "alg" of HS256, HS384 or HS512; an asymmetric key without "alg" gets the
// algorithm inferred from its type as in [ParseKeyPEM]. Keys marked "use":
// "enc" are refused, as are unsupported key types. Keys without "kid" get
// a derived one.
func ParseKeysJSON(data []byte) ([]*Key, error) {
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

// LoadKeyFile reads the keys in the file at path: PEM (as [ParseKeyPEM],
// with the algorithm inferred and the ID derived) or a JWK or JWK Set JSON
// document (as [ParseKeysJSON]), told apart by content. Files over 1 MiB are
// refused.
func LoadKeyFile(path string) ([]*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("jwtauth: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("jwtauth: read key file: %w", err)
	}
	if len(data) > maxKeyFileBytes {
		return nil, errors.New("jwtauth: key file larger than 1 MiB")
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return ParseKeysJSON(t)
	}
	k, err := ParseKeyPEM(data, "", "")
	if err != nil {
		return nil, err
	}
	return []*Key{k}, nil
}
