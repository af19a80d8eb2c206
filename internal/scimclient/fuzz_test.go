package scimclient_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scimclient"
)

// FuzzDecodeError feeds arbitrary bodies to the error and ListResponse
// decoders: they must not panic, an error always keeps the HTTP status and
// has a detail, and a decoded ListResponse holds what it says.
func FuzzDecodeError(f *testing.F) {
	for _, seed := range []string{
		``,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"taken"}`,
		`{"status":409}`,
		`{"status":[1]}`,
		`<html><TITLE>502 Bad Gateway</TITLE></html>`,
		`<title>`,
		"\xff\xfe<title>\xc3</title>",
		`{"totalResults":2,"itemsPerPage":1,"startIndex":1,"Resources":[{"id":"a"}]}`,
		`{"resources":[{"id":"a"}]}`,
		`{"totalResults":"2"}`,
		`null`,
	} {
		f.Add(500, []byte(seed))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 500
		}
		e := scimclient.DecodeError(status, body)
		require.Equal(t, status, e.Status)
		require.NotEmpty(t, e.Error())
		if lr, err := scimclient.DecodeListResponse(body); err == nil {
			require.NotNil(t, lr)
		}
	})
}
