package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
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

// client is a small SCIM client that remembers its last exchange, so that a
// failed check can show what it sent and what came back.
type client struct {
	http  *http.Client
	base  string
	token string

	lastReq  *Request
	lastResp *Response
}

// do sends a request to the Tenant URL plus path. body is sent as is when it
// is a string and as JSON otherwise; headers are name, value pairs.
func (c *client) do(ctx context.Context, method, path string, body any, headers ...string) (*response, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return nil, err
		}
	}
	url := c.base + path
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json")
	if raw != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	c.lastReq = &Request{Method: method, URL: url, Body: truncate(raw)}
	c.lastResp = nil
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
		if c.lastReq.Header == nil {
			c.lastReq.Header = map[string]string{}
		}
		c.lastReq.Header[headers[i]] = headers[i+1]
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	c.lastResp = &Response{Status: res.StatusCode, Body: truncate(b)}
	r := &response{Status: res.StatusCode, Header: res.Header, Body: b}
	if len(bytes.TrimSpace(b)) > 0 {
		_ = json.Unmarshal(b, &r.JSON)
	}
	return r, nil
}

// truncate shortens a body for a report.
func truncate(b []byte) string {
	if len(b) <= maxBody {
		return string(b)
	}
	return fmt.Sprintf("%s… (%d more bytes)", b[:maxBody], len(b)-maxBody)
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
