package jwtauth

// How a token is signed and how it is checked.
//
// Signing goes through jwx: jws.Sign with the key's one algorithm and a
// protected header of "typ", "kid" and "alg". What it signs is our own
// claims JSON ([encodeClaims]), and its output is a compact JWS.
//
// Checking does not go through jwx. jwx v2's jwt.Parse accepts the JWS JSON
// serialization and takes the claims from its unverified outer object, so a
// signed token wrapped in JSON with an injected "sub" or "roles" would be
// read with the attacker's claims. Instead, [verifier.verifyCompact] accepts only the
// compact serialization with each segment canonical unpadded base64url,
// reads the header with our strict JSON reader ([eachMember]), selects the
// key by the header's "kid", requires the header's "alg" to equal that
// key's algorithm, and checks the signature with the standard library's
// crypto ([Key.verify]). Only then is the payload decoded, and the claims
// are read from it alone.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// sign produces a compact JWS of payload with header typ "at+jwt", key's
// kid and key's alg.
func sign(key *Key, payload []byte) (string, error) {
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, "at+jwt"); err != nil {
		return "", fmt.Errorf("jwtauth: sign: %w", err)
	}
	if err := hdr.Set(jws.KeyIDKey, key.kid); err != nil {
		return "", fmt.Errorf("jwtauth: sign: %w", err)
	}
	var raw any = key.signer
	if key.secret != nil {
		raw = key.secret
	}
	if raw == nil {
		return "", errors.New("jwtauth: sign: the active key cannot sign")
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(key.alg), raw, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("jwtauth: sign: %w", err)
	}
	return string(out), nil
}

// Fixed errors of the JWS layer, so that rejecting garbage costs no
// allocation. Their texts contain no '"'.
var (
	errNotCompact   = fmt.Errorf("%w: not a compact JWS with three segments", ErrTokenMalformed)
	errBadBase64    = fmt.Errorf("%w: segment is not canonical unpadded base64url", ErrTokenMalformed)
	errBadHeader    = fmt.Errorf("%w: header is not a JSON object with unique members", ErrTokenMalformed)
	errNoKID        = fmt.Errorf("%w: header has no kid", ErrTokenInvalid)
	errUnknownKID   = fmt.Errorf("%w: unknown key ID", ErrTokenInvalid)
	errAlgMismatch  = fmt.Errorf("%w: algorithm does not match the key", ErrTokenInvalid)
	errBadTyp       = fmt.Errorf("%w: typ is not at+jwt", ErrTokenInvalid)
	errCrit         = fmt.Errorf("%w: unsupported critical header", ErrTokenInvalid)
	errCty          = fmt.Errorf("%w: cty header: nested tokens are not supported", ErrTokenInvalid)
	errBadSignature = fmt.Errorf("%w: bad signature", ErrTokenInvalid)
)

// verifyCompact checks the compact JWS raw with the keys of snap and returns
// its verified payload, still JSON, and the snapshot whose key verified it:
// snap, or a newer one that v.refetch returned for an unknown "kid".
func (v *verifier) verifyCompact(ctx context.Context, raw string, snap *keySnapshot) ([]byte, *keySnapshot, error) {
	d1, d2, err := splitCompact(raw)
	if err != nil {
		return nil, nil, err
	}
	h, err := parseHeader(raw[:d1])
	if err != nil {
		return nil, nil, err
	}
	if h.kid == "" {
		return nil, nil, errNoKID
	}
	if !typOK(h.typ) {
		return nil, nil, errBadTyp
	}
	key := snap.keys[h.kid]
	if key == nil && v.refetch != nil {
		if s := v.refetch(ctx, snap); s != nil {
			snap = s
			key = snap.keys[h.kid]
		}
	}
	if key == nil {
		return nil, nil, errUnknownKID
	}
	if h.alg != string(key.alg) {
		return nil, nil, errAlgMismatch
	}
	sig, err := decodeSegment(raw[d2+1:])
	if err != nil {
		return nil, nil, err
	}
	if !key.verify([]byte(raw[:d2]), sig) {
		return nil, nil, errBadSignature
	}
	payload, err := decodeSegment(raw[d1+1 : d2])
	if err != nil {
		return nil, nil, err
	}
	return payload, snap, nil
}

// b64 decodes canonical unpadded base64url: strict mode refuses non-zero
// trailing bits. Line breaks, which the decoder skips, are refused earlier.
var b64 = base64.RawURLEncoding.Strict()

// splitCompact checks that raw is three base64url segments joined by dots
// and returns the positions of the dots. Empty header, payload or
// signature segments are refused.
func splitCompact(raw string) (d1, d2 int, err error) {
	d1, d2 = -1, -1
	for i := 0; i < len(raw); i++ {
		switch compactChars[raw[i]] {
		case 1:
		case 2:
			switch {
			case d1 < 0:
				d1 = i
			case d2 < 0:
				d2 = i
			default:
				return 0, 0, errNotCompact
			}
		default:
			return 0, 0, errBadBase64
		}
	}
	if d2 < 0 || d1 == 0 || d2 == d1+1 || d2 == len(raw)-1 {
		return 0, 0, errNotCompact
	}
	return d1, d2, nil
}

// compactChars classifies bytes of a compact JWS: 1 for the base64url
// alphabet, 2 for the dot, 0 for anything else.
const compactChars = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00" +
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x01" +
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// decodeSegment decodes one segment of a compact JWS.
func decodeSegment(seg string) ([]byte, error) {
	buf := make([]byte, b64.DecodedLen(len(seg)))
	n, err := b64.Decode(buf, []byte(seg))
	if err != nil {
		return nil, errBadBase64
	}
	return buf[:n], nil
}

// header holds the protected header members a verifier reads.
type header struct {
	alg, kid, typ string
}

// parseHeader reads the protected header. "crit" is refused whatever it
// lists, since no extension is understood, and so is "cty" whatever its
// value: an access token's payload is its claims, never a nested token (RFC
// 7519 §5.2, RFC 9068 §2.1). "jwk", "jku", "x5u", "x5c" and every other
// member are ignored.
func parseHeader(seg string) (header, error) {
	var h header
	data, err := decodeSegment(seg)
	if err != nil {
		return h, err
	}
	var seen uint8
	crit, cty := false, false
	err = eachMember(data, func(name, v []byte) error {
		var bit uint8
		var dst *string
		switch string(name) {
		case "alg":
			bit, dst = 1, &h.alg
		case "kid":
			bit, dst = 2, &h.kid
		case "typ":
			bit, dst = 4, &h.typ
		case "crit":
			crit = true
			return nil
		case "cty":
			cty = true
			return nil
		default:
			return nil
		}
		if seen&bit != 0 {
			return errDuplicateKey
		}
		seen |= bit
		s, err := jsonString(v)
		*dst = s
		return err
	})
	if err != nil {
		return h, errBadHeader
	}
	if crit {
		return h, errCrit
	}
	if cty {
		return h, errCty
	}
	return h, nil
}

// typOK accepts "at+jwt" and "application/at+jwt" (RFC 9068 §2.1, media
// types are case-insensitive).
func typOK(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

// newHash returns the hash constructor for h.
func newHash(h crypto.Hash) func() hash.Hash {
	switch h {
	case crypto.SHA384:
		return sha512.New384
	case crypto.SHA512:
		return sha512.New
	}
	return sha256.New
}

// verify reports whether sig is k's signature of signingInput under k's
// algorithm. It uses the standard library directly; the algorithm is k's,
// never one taken from a token.
func (k *Key) verify(signingInput, sig []byte) bool {
	fam, _ := k.alg.family()
	switch fam {
	case famHMAC:
		if len(sig) != k.hash.Size() || k.secret == nil {
			return false
		}
		m := hmac.New(newHash(k.hash), k.secret)
		m.Write(signingInput)
		var buf [sha512.Size]byte
		return hmac.Equal(m.Sum(buf[:0]), sig)
	case famEd:
		pub, ok := k.pub.(ed25519.PublicKey)
		return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, signingInput, sig)
	case famEC:
		pub, ok := k.pub.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest(k.hash, signingInput), r, s)
	case famRSA:
		pub, ok := k.pub.(*rsa.PublicKey)
		return ok && len(sig) == pub.Size() && rsa.VerifyPKCS1v15(pub, k.hash, digest(k.hash, signingInput), sig) == nil
	case famPSS:
		pub, ok := k.pub.(*rsa.PublicKey)
		// RFC 7518 §3.5: the salt is as long as the hash output.
		opts := rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return ok && len(sig) == pub.Size() && rsa.VerifyPSS(pub, k.hash, digest(k.hash, signingInput), sig, &opts) == nil
	}
	return false
}

func digest(h crypto.Hash, data []byte) []byte {
	d := newHash(h)()
	d.Write(data)
	return d.Sum(nil)
}
