package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/scimclient"
)

// maxBody is how much of a request or response body a report keeps.
const maxBody = 2048

// Request is an HTTP request as a report shows it.
type Request struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Header map[string]string `json:"header,omitempty"`
	Body   string            `json:"body,omitempty"`
}

// Response is an HTTP response as a report shows it.
type Response struct {
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"`
}

// response is a received response with its body decoded when it is a JSON
// object.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// client sends the checks' requests through the shared SCIM client and
// remembers the last exchange, so that a failed check can show what it sent
// and what came back. It is used by one check at a time.
type client struct {
	sc *scimclient.Client

	extra    []string // the names of the headers the check set on the request in flight
	lastReq  *Request
	lastResp *Response
}

// newClient returns a client for the Tenant URL. It never retries: a check
// reports what the endpoint did the first time.
func newClient(base, token string, hc *http.Client) (*client, error) {
	c := &client{}
	sc, err := scimclient.New(base, scimclient.Options{
		Token:            token,
		HTTPClient:       hc,
		Retry:            scimclient.NoRetry,
		MaxResponseBytes: 8 << 20,
		Capture:          c.record,
		CaptureLimit:     maxBody,
	})
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	c.sc = sc
	return c, nil
}

// record keeps an exchange for the report. The report shows only the
// headers a check set itself, not the client's standard ones, and takes
// their values from the capture, where credentials are already redacted.
func (c *client) record(x scimclient.Exchange) {
	c.lastReq = &Request{Method: x.Method, URL: x.URL, Body: x.RequestBody}
	for _, name := range c.extra {
		v := x.RequestHeader.Values(name)
		if len(v) == 0 {
			continue
		}
		if c.lastReq.Header == nil {
			c.lastReq.Header = map[string]string{}
		}
		c.lastReq.Header[http.CanonicalHeaderKey(name)] = strings.Join(v, ", ")
	}
	c.lastResp = nil
	if x.Err == nil {
		c.lastResp = &Response{Status: x.Status, Body: x.ResponseBody}
	}
}

// do sends a request to the Tenant URL plus path. body is sent as is when it
// is a string and as JSON otherwise; headers are name, value pairs.
func (c *client) do(ctx context.Context, method, path string, body any, headers ...string) (*response, error) {
	var h http.Header
	c.extra = c.extra[:0]
	for i := 0; i+1 < len(headers); i += 2 {
		if h == nil {
			h = http.Header{}
		}
		h.Set(headers[i], headers[i+1])
		c.extra = append(c.extra, headers[i])
	}
	res, err := c.sc.Do(ctx, scimclient.Request{Method: method, Path: path, Body: body, Header: h})
	if err != nil {
		return nil, err
	}
	r := &response{Status: res.Status, Header: res.Header, Body: res.Body}
	if len(bytes.TrimSpace(res.Body)) > 0 {
		_ = json.Unmarshal(res.Body, &r.JSON)
	}
	return r, nil
}

// expect returns an error unless the response has one of the statuses.
func expect(r *response, statuses ...int) error {
	for _, s := range statuses {
		if r.Status == s {
			return nil
		}
	}
	want := make([]string, len(statuses))
	for i, s := range statuses {
		want[i] = fmt.Sprint(s)
	}
	return fmt.Errorf("status %d, want %s", r.Status, strings.Join(want, " or "))
}

// get reads a value from decoded JSON by a dotted path with numeric list
// indexes ("name.givenName", "emails.0.value"). Keys containing dots, such
// as extension URNs, are matched whole.
func get(v any, p string) any {
	parts := strings.Split(p, ".")
	for i := 0; i < len(parts); i++ {
		switch x := v.(type) {
		case map[string]any:
			found := false
			for j := len(parts); j > i; j-- {
				if e, ok := lookup(x, strings.Join(parts[i:j], ".")); ok {
					v, i, found = e, j-1, true
					break
				}
			}
			if !found {
				return nil
			}
		case []any:
			var n int
			if _, err := fmt.Sscan(parts[i], &n); err != nil || n < 0 || n >= len(x) {
				return nil
			}
			v = x[n]
		default:
			return nil
		}
	}
	return v
}

// lookup finds a key case-insensitively: SCIM attribute names are
// case-insensitive (RFC 7643 §2.1).
func lookup(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// list returns the Resources of a ListResponse.
func list(r *response) []map[string]any {
	raw, _ := lookup(r.JSON, "Resources")
	items, _ := raw.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// ids returns the ids of a ListResponse's resources.
func ids(r *response) []string {
	var out []string
	for _, m := range list(r) {
		out = append(out, str(m["id"]))
	}
	return out
}

// str returns v if it is a string, else "".
func str(v any) string {
	s, _ := v.(string)
	return s
}

// integer returns v as an int if it is a JSON number.
func integer(v any) (int, bool) {
	f, ok := v.(float64)
	return int(f), ok && f == float64(int(f))
}
