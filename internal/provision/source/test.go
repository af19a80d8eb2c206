package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

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
	// Status is the HTTP status of the answer, or 0 when none came (or the
	// protocol is not HTTP).
	Status int
	Err    error
}

func (e *TestError) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return fmt.Sprintf("%s: %v", e.Message, e.Err)
}

// Unwrap returns the underlying error.
func (e *TestError) Unwrap() error { return e.Err }

// plainHTTP is net/http's error for an https:// request answered in plain
// HTTP; it is not a typed error, so its text is matched.
const plainHTTP = "server gave HTTP response to HTTPS client"

// TransportError classifies a request to base that got no answer: an
// untrusted certificate or a failed handshake (CauseTLS), a timeout, an
// unknown host or a refused connection, each with a message naming what to
// check. The SCIM source and the SCIM target share it.
func TransportError(base string, err error) *TestError {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		host     x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		dns      *net.DNSError
		netError net.Error
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return &TestError{Cause: CauseTLS, Err: err, Message: fmt.Sprintf(
			"the TLS certificate of %s is not trusted or does not match the host; check the Tenant URL's host and the server's certificate", base)}
	case errors.As(err, &record), errors.As(err, &alert), strings.Contains(err.Error(), plainHTTP):
		return &TestError{Cause: CauseTLS, Err: err, Message: fmt.Sprintf(
			"the TLS handshake with %s failed; is the server speaking plain HTTP (use http://) or refusing this client?", base)}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netError) && netError.Timeout():
		return &TestError{Cause: CauseTimeout, Err: err, Message: fmt.Sprintf(
			"%s did not answer in time; check that the server is up and reachable from Roster (firewall, proxy)", base)}
	case errors.As(err, &dns):
		return &TestError{Cause: CauseUnreachable, Err: err, Message: fmt.Sprintf(
			"the host of %s was not found; check the Tenant URL's host name", base)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &TestError{Cause: CauseUnreachable, Err: err, Message: fmt.Sprintf(
			"could not connect to %s: connection refused; check the Tenant URL's host and port and that the server is running", base)}
	}
	return &TestError{Cause: CauseUnreachable, Err: err, Message: fmt.Sprintf(
		"could not reach %s; check the Tenant URL and the network", base)}
}
