package scimsource

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
)

// Test checks the configuration the way Entra's "Test Connection" does: it
// asks for a user no one has, GET /Users?filter=userName eq "<random>"
// &count=1, and expects 200 with an empty list. The request is sent once,
// without retries, within Options.TestTimeout. A failure is a
// *source.TestError whose message names what to check: the token (401,
// 403), the Tenant URL (404), TLS, the network (timeout, refused, unknown
// host), or the server (an answer that is not a SCIM list, a 5xx).
func (s *Source) Test(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.TestTimeout)
	defer cancel()
	q := url.Values{"filter": {fmt.Sprintf("userName eq %q", "roster-test-"+rand.Text())}, "count": {"1"}}
	path := "/Users?" + q.Encode()
	res, err := s.test.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: path})
	if err != nil {
		return source.TransportError(s.client.URL(), err)
	}
	return answerError(s.client.URL(), res)
}

// answerError checks the answer to the test request: 200 and an empty
// SCIM ListResponse.
func answerError(base string, res *scimclient.Response) error {
	switch {
	case res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden:
		return &source.TestError{Cause: source.CauseCredentials, Status: res.Status, Err: res.Err(), Message: fmt.Sprintf(
			"%s refused the token (%d); check the Secret Token", base, res.Status)}
	case res.Status == http.StatusNotFound:
		return &source.TestError{Cause: source.CauseAddress, Status: res.Status, Err: res.Err(), Message: fmt.Sprintf(
			"%s/Users was not found (404); check the Tenant URL's path (e.g. https://host/scim/v2/<tenant>)", base)}
	case res.Status >= 500:
		return &source.TestError{Cause: source.CauseServer, Status: res.Status, Err: res.Err(), Message: fmt.Sprintf(
			"%s reported an error (%d); the server or a proxy in front of it is failing", base, res.Status)}
	case res.Status != http.StatusOK:
		return &source.TestError{Cause: source.CauseProtocol, Status: res.Status, Err: res.Err(), Message: fmt.Sprintf(
			"%s answered a user query with %d instead of 200; is this a SCIM 2.0 endpoint?", base, res.Status)}
	}
	lr, err := scimclient.DecodeListResponse(res.Body)
	if err != nil || (lr.TotalResults == nil && lr.Resources == nil) {
		if err == nil {
			err = errors.New("neither totalResults nor Resources in the body")
		}
		return &source.TestError{Cause: source.CauseProtocol, Status: res.Status, Err: err, Message: fmt.Sprintf(
			"%s answered, but not with a SCIM ListResponse; check that the Tenant URL is the SCIM base URL and not a web page", base)}
	}
	if (lr.TotalResults != nil && *lr.TotalResults > 0) || len(lr.Resources) > 0 {
		return &source.TestError{Cause: source.CauseProtocol, Status: res.Status, Message: fmt.Sprintf(
			"%s returned users for a userName no one has; the server seems to ignore filters, which the source needs", base)}
	}
	return nil
}
