package ldapsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-ldap/ldap/v3"

	"github.com/rosterhq/roster/internal/provision/source"
)

// requestTimedOut is go-ldap's error for a request unanswered within
// Conn.SetTimeout; it is not a typed error, so its text is matched.
const requestTimedOut = "ldap: connection timed out"

// Test checks the configuration: it connects, binds with the configured
// credentials and reads the base DN entry (a base-scope search), within
// Options.Timeout. A failure is a *source.TestError naming what to check:
// the credentials (result 49), the base DN (result 32), TLS, the network
// (timeout, refused, unknown host), or the server (any other result).
func (s *Source) Test(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	c, done, err := s.connect(ctx)
	if err != nil {
		return s.testError(err)
	}
	defer done()
	req := ldap.NewSearchRequest(s.o.BaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{"1.1"}, nil)
	if _, err := c.Search(req); err != nil {
		return s.testError(ctxErr(ctx, err))
	}
	return nil
}

// testError classifies a failed connect, bind or base search.
func (s *Source) testError(err error) *source.TestError {
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
	u := s.o.URL
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return &source.TestError{Cause: source.CauseCredentials, Err: err, Message: fmt.Sprintf(
			"%s refused the bind (invalid credentials); check the bind DN and password", u)}
	case ldap.IsErrorAnyOf(err, ldap.LDAPResultInappropriateAuthentication, ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultConfidentialityRequired, ldap.LDAPResultStrongAuthRequired):
		return &source.TestError{Cause: source.CauseCredentials, Err: err, Message: fmt.Sprintf(
			"%s refused the bind or the read; check the bind DN's rights, and whether the server requires TLS", u)}
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return &source.TestError{Cause: source.CauseAddress, Err: err, Message: fmt.Sprintf(
			"the base DN %s does not exist on %s; check the base DN", s.o.BaseDN, u)}
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return &source.TestError{Cause: source.CauseTLS, Err: err, Message: fmt.Sprintf(
			"the TLS certificate of %s is not trusted or does not match the host; check the host name and the server's certificate", u)}
	case errors.As(err, &record), errors.As(err, &alert), s.handshakeCut(err):
		return &source.TestError{Cause: source.CauseTLS, Err: err, Message: fmt.Sprintf(
			"the TLS handshake with %s failed; is this a plain LDAP port (use ldap://)?", u)}
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netError) && netError.Timeout(),
		strings.Contains(err.Error(), requestTimedOut):
		return &source.TestError{Cause: source.CauseTimeout, Err: err, Message: fmt.Sprintf(
			"%s did not answer in time; check that the server is up and reachable from Roster (firewall)", u)}
	case errors.As(err, &dns):
		return &source.TestError{Cause: source.CauseUnreachable, Err: err, Message: fmt.Sprintf(
			"the host of %s was not found; check the URL's host name", u)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &source.TestError{Cause: source.CauseUnreachable, Err: err, Message: fmt.Sprintf(
			"could not connect to %s: connection refused; check the host and port and that the server is running", u)}
	case ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
		return &source.TestError{Cause: source.CauseUnreachable, Err: err, Message: fmt.Sprintf(
			"could not reach %s; check the URL and the network", u)}
	}
	var le *ldap.Error
	if errors.As(err, &le) {
		return &source.TestError{Cause: source.CauseServer, Err: err, Message: fmt.Sprintf(
			"%s reported an error (LDAP result %d)", u, le.ResultCode)}
	}
	return &source.TestError{Cause: source.CauseUnreachable, Err: err, Message: fmt.Sprintf(
		"could not reach %s; check the URL and the network", u)}
}

// handshakeCut reports an ldaps:// connection the server closed during the
// TLS handshake, which is what a plain LDAP port (OpenLDAP, AD's 389) does
// with a ClientHello.
func (s *Source) handshakeCut(err error) bool {
	var de *dialError
	return strings.HasPrefix(s.o.URL, "ldaps://") && errors.As(err, &de) &&
		(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET))
}
