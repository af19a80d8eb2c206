package scimclient

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Redacted replaces the value of every credential-bearing header in a
// captured exchange (see Sensitive).
const Redacted = "[redacted]"

// Exchange is one attempt of a request as a report shows it. Bodies are
// cut at Options.CaptureLimit; the values of credential-bearing request and
// response headers are Redacted.
type Exchange struct {
	Method         string
	URL            string
	RequestHeader  http.Header
	RequestBody    string
	Status         int // 0 when no response came
	ResponseHeader http.Header
	ResponseBody   string
	Duration       time.Duration
	Attempt        int   // 1 for the first attempt
	Err            error // why no response came, if none did
}

// exchange builds the Exchange of one attempt.
func (c *Client) exchange(req *http.Request, target string, body []byte, res *Response, err error, d time.Duration, n int) Exchange {
	x := Exchange{
		Method:        req.Method,
		URL:           target,
		RequestHeader: redact(req.Header),
		RequestBody:   Truncate(body, c.captLimit),
		Duration:      d,
		Attempt:       n,
		Err:           err,
	}
	if res != nil {
		x.Status, x.ResponseHeader, x.ResponseBody = res.Status, redact(res.Header), Truncate(res.Body, c.captLimit)
	}
	return x
}

// credentialHeaders are the headers that carry credentials by definition,
// lower-cased (RFC 9110 §11.6.2 and §11.7.2, RFC 6265 §4).
var credentialHeaders = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"set-cookie":          true,
}

// credentialWords mark a header that likely carries a credential when its
// lower-cased name, with "-" and "_" removed, contains one of them:
// X-Auth-Token, X-Api-Key, Client-Secret, X-Password and the like.
var credentialWords = []string{"token", "secret", "apikey", "password"}

// Sensitive reports whether a header, named in any case, may carry a
// credential and so is Redacted in a captured exchange: Authorization,
// Proxy-Authorization, Cookie, Set-Cookie, and every header whose name
// contains "token", "secret", "api-key" (or "apikey", "api_key") or
// "password".
func Sensitive(name string) bool {
	n := strings.ToLower(name)
	if credentialHeaders[n] {
		return true
	}
	n = strings.NewReplacer("-", "", "_", "").Replace(n)
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// redact returns a copy of h with the values of Sensitive headers Redacted;
// nil stays nil.
func redact(h http.Header) http.Header {
	c := h.Clone()
	for k, v := range c {
		if len(v) > 0 && Sensitive(k) {
			c[k] = []string{Redacted}
		}
	}
	return c
}

// Truncate returns b cut at limit bytes, saying how many more there were.
func Truncate(b []byte, limit int) string {
	if len(b) <= limit {
		return string(b)
	}
	return fmt.Sprintf("%s… (%d more bytes)", b[:limit], len(b)-limit)
}
