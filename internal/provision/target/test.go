package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
)

// TestError is a failed Test: its cause (the SCIM source's vocabulary), a
// message for the admin and, when the app answered, the HTTP status.
type TestError = source.TestError

// Test does what Entra's "Test Connection" does (IDP-NOTES §1.3 request
// 1): it asks for a user no one has, GET /Users?filter=<matchingAttr> eq
// "<random GUID>" (matchingAttr defaults to userName), and expects 200 with
// an empty ListResponse. The request is sent once, without retries, within
// Options.Timeout. A failure is a *TestError whose message names what to
// fix: the token (401, 403, or an OAuth token endpoint that refused the
// client), the Tenant URL's path (404), TLS, the network (timeout, refused
// connection, unknown host), an answer that is not a SCIM ListResponse, or
// a non-empty result, which means the app ignored the filter or the
// matching attribute.
func (t *Target) Test(ctx context.Context, matchingAttr string) error {
	if matchingAttr == "" {
		matchingAttr = "userName"
	}
	base := redactURL(t.test.URL())
	filter := fmt.Sprintf("%s eq %q", matchingAttr, uuid.NewString())
	// %20 rather than +, as Entra sends it: not every server decodes + in a
	// query as a space.
	path := "/Users?filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
	res, err := t.test.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: path})
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) {
			return &TestError{Cause: source.CauseCredentials, Err: err, Message: fmt.Sprintf(
				"the OAuth token endpoint %s gave no token; check its URL and the client ID, secret and scope", redactURL(te.TokenURL))}
		}
		return source.TransportError(base, err)
	}
	return answerError(base, matchingAttr, res)
}

// answerError checks the answer to the test request.
func answerError(base, attr string, res *scimclient.Response) error {
	fail := func(c source.Cause, format string, args ...any) *TestError {
		return &TestError{Cause: c, Status: res.Status, Err: res.Err(), Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden:
		return fail(source.CauseCredentials,
			"%s refused the token (%d); check the Secret Token (or the OAuth client's grant) and that it is for this app", base, res.Status)
	case res.Status == http.StatusNotFound:
		return fail(source.CauseAddress,
			"%s/Users was not found (404); check the Tenant URL's path: it is the SCIM base URL, to which /Users is added", base)
	case res.Status >= 500:
		return fail(source.CauseServer,
			"%s reported an error (%d); the app or a proxy in front of it is failing", base, res.Status)
	case res.Status != http.StatusOK:
		return fail(source.CauseProtocol,
			"%s answered a user query with %d instead of 200; is this a SCIM 2.0 endpoint that supports filtering on %s?", base, res.Status, attr)
	}
	lr, err := scimclient.DecodeListResponse(res.Body)
	if err != nil || (lr.TotalResults == nil && lr.Resources == nil) {
		if err == nil {
			err = errors.New("neither totalResults nor Resources in the body")
		}
		return &TestError{Cause: source.CauseProtocol, Status: res.Status, Err: err, Message: fmt.Sprintf(
			"%s answered, but not with a SCIM ListResponse; check that the Tenant URL is the SCIM base URL and not a web page", base)}
	}
	if n := len(lr.Resources); n > 0 || (lr.TotalResults != nil && *lr.TotalResults > 0) {
		if lr.TotalResults != nil {
			n = max(n, *lr.TotalResults)
		}
		return &TestError{Cause: source.CauseProtocol, Status: res.Status, Message: fmt.Sprintf(
			"%s returned %d user(s) for a random %s no one has; the app seems to ignore the filter or the attribute, "+
				"so matching would link the wrong users; check that it supports filtering on %s", base, n, attr, attr)}
	}
	return nil
}
