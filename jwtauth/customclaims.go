package jwtauth

import (
	"encoding/json"
	"errors"
	"fmt"
)

// SetClaim stores v, marshalled to JSON, as the custom claim name in
// c.Extra. Names of claims that [Claims] has a field for ("iss", "sub",
// "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "roles") are
// refused.
func SetClaim[T any](c *Claims, name string, v T) error {
	if name == "" || registeredClaim(name) {
		return fmt.Errorf("jwtauth: claim name %q is empty or registered: use the Claims field", name)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jwtauth: claim %q: %w", name, err)
	}
	if c.Extra == nil {
		c.Extra = make(map[string]json.RawMessage)
	}
	c.Extra[name] = data
	return nil
}

// ClaimAs decodes the custom claim name of c into a T. It reports false,
// with no error, when c has no such claim, and an error when the claim does
// not decode as a T.
func ClaimAs[T any](c *Claims, name string) (T, bool, error) {
	var v T
	data, ok := c.Extra[name]
	if !ok {
		return v, false, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, true, errors.Join(fmt.Errorf("jwtauth: claim %q", name), err)
	}
	return v, true, nil
}
