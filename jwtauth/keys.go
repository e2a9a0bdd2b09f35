package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Algorithm is a JWS signature algorithm (RFC 7518 §3, RFC 8037 for
// EdDSA). A [Key] is bound to exactly one Algorithm: tokens are verified with
// the algorithm of the key their "kid" selects, never with the one their
// header names alone.
type Algorithm string

// The supported algorithms. "none" is not one of them.
const (
	HS256 Algorithm = "HS256" // HMAC with SHA-256; secret of at least 32 bytes
	HS384 Algorithm = "HS384" // HMAC with SHA-384; secret of at least 48 bytes
	HS512 Algorithm = "HS512" // HMAC with SHA-512; secret of at least 64 bytes
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256; RSA of at least 2048 bits
	RS384 Algorithm = "RS384" // RSASSA-PKCS1-v1_5 with SHA-384
	RS512 Algorithm = "RS512" // RSASSA-PKCS1-v1_5 with SHA-512
	PS256 Algorithm = "PS256" // RSASSA-PSS with SHA-256
	PS384 Algorithm = "PS384" // RSASSA-PSS with SHA-384
	PS512 Algorithm = "PS512" // RSASSA-PSS with SHA-512
	ES256 Algorithm = "ES256" // ECDSA on P-256 with SHA-256
	ES384 Algorithm = "ES384" // ECDSA on P-384 with SHA-384
	ES512 Algorithm = "ES512" // ECDSA on P-521 with SHA-512
	EdDSA Algorithm = "EdDSA" // Ed25519
)

// Limits on RSA moduli: below the minimum a key is refused as weak (RFC 7518
// §3.3), above the maximum as a denial-of-service risk.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

type algFamily uint8

const (
	famNone algFamily = iota
	famHMAC
	famRSA
	famPSS
	famEC
	famEd
)

// family returns the key family and hash of a. famNone means a is not
// supported.
func (a Algorithm) family() (algFamily, crypto.Hash) {
	switch a {
	case HS256:
		return famHMAC, crypto.SHA256
	case HS384:
		return famHMAC, crypto.SHA384
	case HS512:
		return famHMAC, crypto.SHA512
	case RS256:
		return famRSA, crypto.SHA256
	case RS384:
		return famRSA, crypto.SHA384
	case RS512:
		return famRSA, crypto.SHA512
	case PS256:
		return famPSS, crypto.SHA256
	case PS384:
		return famPSS, crypto.SHA384
	case PS512:
		return famPSS, crypto.SHA512
	case ES256:
		return famEC, crypto.SHA256
	case ES384:
		return famEC, crypto.SHA384
	case ES512:
		return famEC, crypto.SHA512
	case EdDSA:
		return famEd, 0
	}
	return famNone, 0
}

// curve returns the curve an ECDSA algorithm requires.
func (a Algorithm) curve() elliptic.Curve {
	switch a {
	case ES256:
		return elliptic.P256()
	case ES384:
		return elliptic.P384()
	case ES512:
		return elliptic.P521()
	}
	return nil
}

// Key is a signing or verification key bound to one [Algorithm] and one key
// ID ("kid"). A Key that holds a private key or an HMAC secret can sign; one
// that holds only a public key can only verify. Keys are immutable and safe
// for concurrent use. Formatting a Key with fmt or slog prints its ID and
// algorithm, never key material.
type Key struct {
	kid    string
	alg    Algorithm
	hash   crypto.Hash
	secret []byte            // HMAC only
	signer crypto.PrivateKey // ed25519.PrivateKey, *ecdsa.PrivateKey or *rsa.PrivateKey; nil when verify-only
	pub    crypto.PublicKey  // ed25519.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey; nil for HMAC
}

// ID returns the key ID, the "kid" header of tokens the key signs.
func (k *Key) ID() string { return k.kid }

// Algorithm returns the algorithm the key is bound to.
func (k *Key) Algorithm() Algorithm { return k.alg }

// CanSign reports whether k holds a private key or an HMAC secret.
func (k *Key) CanSign() bool { return k.secret != nil || k.signer != nil }

// Public returns a verification-only copy of k with the same ID and
// algorithm. It returns nil for an HMAC key, which has no public part.
func (k *Key) Public() *Key {
	if k.pub == nil {
		return nil
	}
	return &Key{kid: k.kid, alg: k.alg, hash: k.hash, pub: k.pub}
}

// sameKey reports whether k and o verify the same signatures: the same
// algorithm and the same public key, or the same HMAC secret.
func (k *Key) sameKey(o *Key) bool {
	if k.alg != o.alg {
		return false
	}
	if k.secret != nil || o.secret != nil {
		return hmac.Equal(k.secret, o.secret)
	}
	pub, ok := k.pub.(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(o.pub)
}

// String returns the key's algorithm and ID, never key material. It has a
// value receiver so that a dereferenced Key prints safely too.
func (k Key) String() string {
	kind := "public"
	if k.CanSign() {
		kind = "signing"
	}
	return "jwtauth.Key{alg=" + string(k.alg) + " kid=" + k.kid + " " + kind + "}"
}

// GoString is like [Key.String], so that %#v prints no key material either.
func (k Key) GoString() string { return k.String() }

// LogValue implements [slog.LogValuer]: the key's algorithm and ID only.
func (k *Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("alg", string(k.alg)), slog.String("kid", k.kid))
}

// GenerateKey returns a fresh random signing key for alg: an HMAC secret as
// long as the hash output, a 2048-bit RSA key, an ECDSA key on alg's curve or
// an Ed25519 key. Its ID is derived from the key as [NewKey] does.
func GenerateKey(alg Algorithm) (*Key, error) {
	fam, h := alg.family()
	var priv crypto.PrivateKey
	switch fam {
	case famHMAC:
		secret := make([]byte, h.Size())
		rand.Read(secret)
		priv = secret
	case famRSA, famPSS:
		k, err := rsa.GenerateKey(rand.Reader, minRSABits)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: generate RSA key: %w", err)
		}
		priv = k
	case famEC:
		k, err := ecdsa.GenerateKey(alg.curve(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: generate ECDSA key: %w", err)
		}
		priv = k
	case famEd:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("jwtauth: generate Ed25519 key: %w", err)
		}
		priv = k
	default:
		return nil, unsupportedAlg(alg)
	}
	return NewKey(alg, priv, "")
}

func unsupportedAlg(alg Algorithm) error {
	return fmt.Errorf("jwtauth: unsupported algorithm %q", string(alg))
}

// NewKey returns a signing key for alg. key is one of:
//
//   - []byte: the HMAC secret for HS256, HS384 or HS512, at least as long
//     as the hash output (32, 48 or 64 bytes);
//   - *rsa.PrivateKey of 2048 to 8192 bits for RS* and PS*;
//   - *ecdsa.PrivateKey on the curve alg names (P-256, P-384, P-521) for ES*;
//   - ed25519.PrivateKey for EdDSA.
//
// An empty kid is derived from the key: the RFC 7638 thumbprint of the
// public key (SHA-256, base64url), or for HMAC a value computed from the
// secret with HMAC, so that every process loading the same key agrees on the
// ID without the ID revealing anything about the secret. Weak keys, keys that
// do not fit alg and unsupported algorithms are refused.
func NewKey(alg Algorithm, key crypto.PrivateKey, kid string) (*Key, error) {
	fam, h := alg.family()
	if fam == famNone {
		return nil, unsupportedAlg(alg)
	}
	k := &Key{alg: alg, hash: h}
	switch priv := key.(type) {
	case []byte:
		if fam != famHMAC {
			return nil, fmt.Errorf("jwtauth: %s needs an asymmetric key, got an HMAC secret", alg)
		}
		if len(priv) < h.Size() {
			return nil, fmt.Errorf("jwtauth: %s secret of %d bytes is too short: at least %d bytes required", alg, len(priv), h.Size())
		}
		k.secret = append([]byte(nil), priv...)
	case *rsa.PrivateKey:
		if err := priv.Validate(); err != nil {
			return nil, fmt.Errorf("jwtauth: invalid RSA key: %w", err)
		}
		k.signer, k.pub = priv, &priv.PublicKey
	case *ecdsa.PrivateKey:
		k.signer, k.pub = priv, &priv.PublicKey
	case ed25519.PrivateKey:
		if len(priv) != ed25519.PrivateKeySize {
			return nil, errors.New("jwtauth: invalid Ed25519 private key size")
		}
		k.signer, k.pub = priv, priv.Public()
	default:
		return nil, fmt.Errorf("jwtauth: unsupported signing key type %T", key)
	}
	if k.pub != nil {
		if err := checkPublic(alg, k.pub); err != nil {
			return nil, err
		}
	}
	return k.withID(kid)
}

// NewPublicKey returns a verification-only key for alg from a public key:
// *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey, with the same
// requirements and kid rule as [NewKey]. HMAC has no public keys.
func NewPublicKey(alg Algorithm, key crypto.PublicKey, kid string) (*Key, error) {
	fam, h := alg.family()
	if fam == famNone {
		return nil, unsupportedAlg(alg)
	}
	if fam == famHMAC {
		return nil, fmt.Errorf("jwtauth: %s has no public key: use NewKey with the secret", alg)
	}
	switch pub := key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	case ed25519.PublicKey:
		key = append(ed25519.PublicKey(nil), pub...)
	default:
		return nil, fmt.Errorf("jwtauth: unsupported public key type %T", key)
	}
	if err := checkPublic(alg, key); err != nil {
		return nil, err
	}
	k := &Key{alg: alg, hash: h, pub: key}
	return k.withID(kid)
}

// checkPublic reports whether pub fits alg and is strong enough.
func checkPublic(alg Algorithm, pub crypto.PublicKey) error {
	fam, _ := alg.family()
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if fam != famRSA && fam != famPSS {
			return fmt.Errorf("jwtauth: an RSA key cannot be used with %s", alg)
		}
		if pub.N == nil || pub.E < 3 || pub.E%2 == 0 {
			return errors.New("jwtauth: invalid RSA public key")
		}
		if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return fmt.Errorf("jwtauth: RSA key of %d bits refused: %d to %d bits required", bits, minRSABits, maxRSABits)
		}
	case *ecdsa.PublicKey:
		if fam != famEC {
			return fmt.Errorf("jwtauth: an ECDSA key cannot be used with %s", alg)
		}
		if pub.Curve != alg.curve() {
			return fmt.Errorf("jwtauth: %s requires curve %s, got %s", alg, alg.curve().Params().Name, curveName(pub.Curve))
		}
		if _, err := pub.ECDH(); err != nil {
			return fmt.Errorf("jwtauth: invalid ECDSA public key: %w", err)
		}
	case ed25519.PublicKey:
		if fam != famEd {
			return fmt.Errorf("jwtauth: an Ed25519 key cannot be used with %s", alg)
		}
		if len(pub) != ed25519.PublicKeySize {
			return errors.New("jwtauth: invalid Ed25519 public key size")
		}
	default:
		return fmt.Errorf("jwtauth: unsupported public key type %T", pub)
	}
	return nil
}

func curveName(c elliptic.Curve) string {
	if c == nil || c.Params() == nil {
		return "unknown"
	}
	return c.Params().Name
}

// maxKIDLen bounds key IDs, which travel in every token header.
const maxKIDLen = 128

// withID sets k's ID to kid, or derives one when kid is empty.
func (k *Key) withID(kid string) (*Key, error) {
	if kid == "" {
		id, err := k.deriveID()
		if err != nil {
			return nil, err
		}
		kid = id
	}
	if len(kid) > maxKIDLen {
		return nil, fmt.Errorf("jwtauth: key ID longer than %d bytes", maxKIDLen)
	}
	if !isToken(kid) {
		return nil, errors.New("jwtauth: key ID must be printable ASCII without spaces, quotes or backslashes")
	}
	k.kid = kid
	return k, nil
}

func (k *Key) deriveID() (string, error) {
	if k.secret != nil {
		m := hmac.New(sha256.New, k.secret)
		m.Write([]byte("jwtauth key id"))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16]), nil
	}
	jk, err := jwk.FromRaw(k.pub)
	if err != nil {
		return "", fmt.Errorf("jwtauth: key thumbprint: %w", err)
	}
	tp, err := jk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("jwtauth: key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}
