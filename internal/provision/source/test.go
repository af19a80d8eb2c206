package source

import "fmt"

// Cause classifies why a connection test failed, so that the admin UI can
// point at the setting to fix.
type Cause string

// The causes of a failed connection test.
const (
	// CauseCredentials: the server refused the credentials (HTTP 401 or
	// 403, an LDAP bind failure).
	CauseCredentials Cause = "credentials"
	// CauseAddress: the server answered, but not at this address (HTTP 404:
	// a wrong Tenant URL path, an LDAP base DN that does not exist).
	CauseAddress Cause = "address"
	// CauseTLS: the TLS handshake failed (untrusted or mismatched
	// certificate, or TLS spoken to a plain-text port).
	CauseTLS Cause = "tls"
	// CauseTimeout: no answer in time.
	CauseTimeout Cause = "timeout"
	// CauseUnreachable: no connection (refused, unknown host).
	CauseUnreachable Cause = "unreachable"
	// CauseProtocol: the server answered, but not as the protocol says
	// (an HTML page instead of a SCIM list).
	CauseProtocol Cause = "protocol"
	// CauseServer: the server reported an error of its own.
	CauseServer Cause = "server"
)

// TestError is a failed connection test: its cause, a sentence for the
// admin saying what is wrong and what to check, and the underlying error.
type TestError struct {
	Cause   Cause
	Message string
	Err     error
}

func (e *TestError) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return fmt.Sprintf("%s: %v", e.Message, e.Err)
}

// Unwrap returns the underlying error.
func (e *TestError) Unwrap() error { return e.Err }
