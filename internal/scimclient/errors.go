package scimclient

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// ErrorURN is the schema of a SCIM error body (RFC 7644 §3.12).
const ErrorURN = "urn:ietf:params:scim:api:messages:2.0:Error"

// maxDetail bounds the detail taken from a body that is not a SCIM error,
// such as a proxy's HTML page.
const maxDetail = 200

// DecodeError turns an error response into the protocol core's SCIM error.
// The HTTP status wins over the body's "status" (a string per RFC 7644
// §3.12, an integer in Okta's samples), since it is what the server acted
// on. A body that is not a SCIM error — HTML from a proxy, plain text,
// nothing — still yields an error with the status, and the start of the
// body, or the status text, as its detail.
func DecodeError(status int, body []byte) *scimerr.Error {
	e := &scimerr.Error{Status: status}
	var b struct {
		ScimType string          `json:"scimType"`
		Detail   string          `json:"detail"`
		Status   json.RawMessage `json:"status"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &b) == nil {
		e.ScimType, e.Detail = scimerr.Type(b.ScimType), b.Detail
		if e.Status == 0 {
			e.Status = bodyStatus(b.Status)
		}
	} else if len(trimmed) > 0 {
		e.Detail = snippet(trimmed)
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(e.Status)
	}
	return e
}

// bodyStatus reads the "status" of an error body, string or number.
func bodyStatus(raw json.RawMessage) int {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// snippet returns the start of a non-SCIM body as one line of valid UTF-8.
func snippet(b []byte) string {
	// An HTML error page says most in its title.
	head := b[:min(len(b), 4096)]
	if i := indexFold(head, "<title>"); i >= 0 {
		rest := head[i+len("<title>"):]
		if j := indexFold(rest, "</title>"); j > 0 {
			b = rest[:j]
		}
	}
	if len(b) > maxDetail {
		b = b[:maxDetail]
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
}

// indexFold is bytes.Index ignoring ASCII case; sub is lower case.
func indexFold(b []byte, sub string) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if strings.EqualFold(string(b[i:i+len(sub)]), sub) {
			return i
		}
	}
	return -1
}
