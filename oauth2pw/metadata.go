package oauth2pw

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/authkit-go/authkit/jwtauth"
)

// Metadata names the endpoints that [Handler.MetadataHandler] publishes
// in the RFC 8414 authorization server metadata. Every value is an
// absolute http or https URL without a fragment.
type Metadata struct {
	// Issuer is the "iss" of the issued tokens, which must also be the
	// URL the metadata is served under, less
	// /.well-known/oauth-authorization-server. Required; it must have no
	// query either.
	Issuer string
	// TokenEndpoint is where the [Handler] is mounted. Required.
	TokenEndpoint string
	// JWKSURI is where [jwtauth.KeySet.JWKSHandler] is mounted. Empty
	// leaves it out.
	JWKSURI string
	// RevocationEndpoint is where [Handler.RevocationHandler] is mounted.
	// Empty leaves it out.
	RevocationEndpoint string
	// IntrospectionEndpoint is where [Handler.IntrospectionHandler] is
	// mounted. Empty leaves it out.
	IntrospectionEndpoint string
	// ScopesSupported lists the scopes clients may ask for. Nil means
	// the scopes the config names: [Config.DefaultScopes], the values of
	// [Config.RoleScopes] and the clients' scopes, if there are any.
	ScopesSupported []string
}

// metadataDoc is the RFC 8414 §2 document.
type metadataDoc struct {
	Issuer                   string   `json:"issuer"`
	TokenEndpoint            string   `json:"token_endpoint"`
	JWKSURI                  string   `json:"jwks_uri,omitempty"`
	RevocationEndpoint       string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint    string   `json:"introspection_endpoint,omitempty"`
	ScopesSupported          []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported   []string `json:"response_types_supported"`
	GrantTypesSupported      []string `json:"grant_types_supported"`
	TokenAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	IntrospectionAuthMethods []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
}

// MetadataHandler returns the RFC 8414 authorization server metadata
// document of h, to mount at GET /.well-known/oauth-authorization-server:
// the URLs of m, the grant types h accepts ("password", and
// "refresh_token" when [Config.Refresh] turns it on), the client
// authentication methods (client_secret_basic, client_secret_post and,
// for public clients, none; introspection takes no public clients), the
// scopes, and an empty response_types_supported, as there is no
// authorization endpoint. It answers GET and HEAD, others 405. It returns
// an error if m lacks Issuer or TokenEndpoint or holds a value that is not
// an absolute http or https URL.
func (h *Handler) MetadataHandler(m Metadata) (http.Handler, error) {
	var errs []error
	check := func(name, v string, required, noQuery bool) {
		if v == "" {
			if required {
				errs = append(errs, fmt.Errorf("%s is required", name))
			}
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || (noQuery && u.RawQuery != "") {
			errs = append(errs, fmt.Errorf("%s is not an absolute http or https URL without fragment", name))
		}
	}
	check("Issuer", m.Issuer, true, true)
	check("TokenEndpoint", m.TokenEndpoint, true, false)
	check("JWKSURI", m.JWKSURI, false, false)
	check("RevocationEndpoint", m.RevocationEndpoint, false, false)
	check("IntrospectionEndpoint", m.IntrospectionEndpoint, false, false)
	if err := checkScopes(m.ScopesSupported); err != nil {
		errs = append(errs, fmt.Errorf("ScopesSupported: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("oauth2pw: metadata: %w", err)
	}
	methods := []string{"client_secret_basic", "client_secret_post", "none"}
	doc := metadataDoc{
		Issuer:                 m.Issuer,
		TokenEndpoint:          m.TokenEndpoint,
		JWKSURI:                m.JWKSURI,
		RevocationEndpoint:     m.RevocationEndpoint,
		IntrospectionEndpoint:  m.IntrospectionEndpoint,
		ScopesSupported:        slices.Clone(m.ScopesSupported),
		ResponseTypesSupported: []string{},
		GrantTypesSupported:    []string{"password"},
		TokenAuthMethods:       methods,
	}
	if h.refresh != nil {
		doc.GrantTypesSupported = append(doc.GrantTypesSupported, "refresh_token")
	}
	if m.RevocationEndpoint != "" {
		doc.RevocationAuthMethods = methods
	}
	if m.IntrospectionEndpoint != "" {
		doc.IntrospectionAuthMethods = methods[:2]
	}
	if doc.ScopesSupported == nil {
		doc.ScopesSupported = h.knownScopes()
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("oauth2pw: metadata: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			jwtauth.WriteError(w, http.StatusMethodNotAllowed, CodeInvalidRequest, descGetOnly)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(body)
		}
	}), nil
}

// knownScopes returns the scopes the config names, sorted, or nil.
func (h *Handler) knownScopes() []string {
	var out []string
	out = append(out, h.scopes.defaults...)
	for _, s := range h.scopes.byRole {
		out = append(out, s...)
	}
	for _, c := range h.clients.byID {
		out = append(out, c.scopes...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
