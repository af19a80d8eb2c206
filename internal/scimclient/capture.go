package scimclient

import (
	"fmt"
	"net/http"
	"time"
)

// Redacted replaces the Authorization header in a captured exchange.
const Redacted = "[redacted]"

// Exchange is one attempt of a request as a report shows it. Bodies are
// cut at Options.CaptureLimit; the Authorization header is Redacted.
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
	h := req.Header.Clone()
	if _, ok := h["Authorization"]; ok {
		h["Authorization"] = []string{Redacted}
	}
	x := Exchange{
		Method:        req.Method,
		URL:           target,
		RequestHeader: h,
		RequestBody:   Truncate(body, c.captLimit),
		Duration:      d,
		Attempt:       n,
		Err:           err,
	}
	if res != nil {
		x.Status, x.ResponseHeader, x.ResponseBody = res.Status, res.Header.Clone(), Truncate(res.Body, c.captLimit)
	}
	return x
}

// Truncate returns b cut at limit bytes, saying how many more there were.
func Truncate(b []byte, limit int) string {
	if len(b) <= limit {
		return string(b)
	}
	return fmt.Sprintf("%s… (%d more bytes)", b[:limit], len(b)-limit)
}
