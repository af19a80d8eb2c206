package target

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/scimclient"
)

// dialects are the job document's dialect names.
var dialects = map[string]scimclient.Dialect{
	"":             scimclient.RFC,
	"rfc":          scimclient.RFC,
	"entra":        scimclient.Entra,
	"entra-062020": scimclient.EntraSCIM062020,
	"okta":         scimclient.Okta,
}

// tokenTimeout bounds one request to an OAuth token endpoint.
const tokenTimeout = 30 * time.Second

// FromJob returns the options of a job's target. The dialect's name picks
// a scimclient preset; Update "put" or "patch" chooses how a changed object
// is written, and an empty Update follows the dialect (PUT for Okta, PATCH
// otherwise). An OAuth client becomes a TokenSource that fetches tokens
// with the client credentials grant (RFC 6749 §4.4) and reuses each until
// shortly before it expires.
func FromJob(t job.Target) (Options, error) {
	d, ok := dialects[strings.ToLower(t.Dialect)]
	if !ok {
		return Options{}, fmt.Errorf("target: unknown dialect %q (want rfc, entra, entra-062020 or okta)", t.Dialect)
	}
	o := Options{
		URL: t.URL, Token: t.Token, Dialect: d, UpdateWithPUT: d.UpdateWithPUT,
		MembersPerPatch: t.MembersPerPatch, RequestsPerSecond: t.RequestsPerSecond, Concurrency: t.Concurrency,
	}
	switch strings.ToLower(t.Update) {
	case "":
	case "patch":
		o.UpdateWithPUT = false
	case "put":
		o.UpdateWithPUT = true
	default:
		return Options{}, fmt.Errorf("target: unknown update %q (want patch or put)", t.Update)
	}
	if t.OAuth != nil {
		if t.Token != "" {
			return Options{}, fmt.Errorf("target: both a token and an OAuth client")
		}
		if t.OAuth.TokenURL == "" || t.OAuth.ClientID == "" {
			return Options{}, fmt.Errorf("target: the OAuth client needs a token URL and a client ID")
		}
		o.TokenSource = ClientCredentials(*t.OAuth, nil)
	}
	return o, nil
}

// TokenError is a failure to get a bearer token from an OAuth token
// endpoint; Test reports it as refused credentials.
type TokenError struct {
	TokenURL string
	Err      error
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("OAuth token from %s: %v", e.TokenURL, e.Err)
}

// Unwrap returns the underlying error.
func (e *TokenError) Unwrap() error { return e.Err }

// ClientCredentials returns a token source for the OAuth 2.0 client
// credentials grant (RFC 6749 §4.4): it POSTs the client's id, secret and
// scope (space-separated) to the token URL, and reuses the token until ten
// seconds before it expires (golang.org/x/oauth2's margin). hc sends the
// token requests; nil means a client with a 30 s timeout. A failure is a
// *TokenError.
func ClientCredentials(c job.OAuthClient, hc *http.Client) func(context.Context) (string, error) {
	if hc == nil {
		hc = &http.Client{Timeout: tokenTimeout}
	}
	cfg := clientcredentials.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL,
		Scopes: strings.Fields(c.Scope),
	}
	// The source outlives any one request, so it is built on a background
	// context; hc's timeout bounds each fetch.
	ts := cfg.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, hc))
	return func(context.Context) (string, error) {
		tok, err := ts.Token()
		if err != nil {
			return "", &TokenError{TokenURL: c.TokenURL, Err: err}
		}
		return tok.AccessToken, nil
	}
}
