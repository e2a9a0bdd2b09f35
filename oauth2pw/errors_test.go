package oauth2pw

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestDescriptionCharset checks every error_description constant against
// the characters RFC 6749 §5.2 allows: %x20-21 / %x23-5B / %x5D-7E.
func TestDescriptionCharset(t *testing.T) {
	t.Parallel()
	descs := []string{
		descMethod, descContentType, descBodyTooLarge, descMalformedBody,
		descRepeatedParam, descMissingGrant, descUnsupported, descMissingCreds,
		descMultipleAuth, descInvalidClient, descInvalidGrant, descInvalidScope,
		descThrottled, descServerError, descRepeatedAuthz, descQueryParams,
		descBadChars, descClientThrottled, descBusy,
		descRefreshInvalid, descMissingRefresh, descUnsupportedRefresh, descRefreshThrottled,
		descPostOnly, descGetOnly, descMissingToken, descConfidential, descEverywhere,
		descNoSession, descNoDenylist,
	}
	seen := map[string]bool{}
	for _, d := range descs {
		if d == "" || seen[d] {
			t.Errorf("description %q is empty or repeated", d)
		}
		seen[d] = true
		for i := 0; i < len(d); i++ {
			if c := d[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				t.Errorf("description %q: byte %#x at %d is outside RFC 6749 §5.2's set", d, c, i)
			}
		}
	}
	codes := []string{CodeInvalidRequest, CodeInvalidClient, CodeInvalidGrant, CodeUnsupportedGrantType, CodeInvalidScope, CodeSlowDown, CodeServerError, CodeTemporarilyUnavailable, CodeUnsupportedTokenType}
	for _, c := range codes {
		for i := 0; i < len(c); i++ {
			if b := c[i]; b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
				t.Errorf("code %q: byte %#x outside RFC 6749 §5.2's set", c, b)
			}
		}
	}
}

// TestTokenErrorCause checks that an answer's cause reaches the logs
// through Error and Unwrap, and that the answer itself stays the fixed
// code and description.
func TestTokenErrorCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("store down")
	e := serverError(cause)
	if !errors.Is(fmt.Errorf("wrapped: %w", e), cause) {
		t.Errorf("errors.Is(%v, cause) = false, want true", e)
	}
	if got, want := e.Error(), "oauth2pw: server_error: "+descServerError+": store down"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if e.status != http.StatusInternalServerError || e.code != CodeServerError || e.description != descServerError {
		t.Errorf("serverError = %d %q %q, want 500 %q %q", e.status, e.code, e.description, CodeServerError, descServerError)
	}
	if got, want := invalidGrant().Error(), "oauth2pw: invalid_grant: "+descInvalidGrant; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if invalidGrant().Unwrap() != nil {
		t.Error("invalidGrant().Unwrap() != nil, want nil")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0s", 1}, {"1ms", 1}, {"1s", 1}, {"1.001s", 2}, {"5m", 300},
		{"-1s", 1},
		// A custom Limiter's "forever" must not wrap around to 1 second.
		{"2562047h47m16.854775807s", 9223372037},
		{"2562047h47m16s", 9223372036},
	} {
		d, _ := time.ParseDuration(tc.in)
		if got := retryAfterSeconds(d); got != tc.want {
			t.Errorf("retryAfterSeconds(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
