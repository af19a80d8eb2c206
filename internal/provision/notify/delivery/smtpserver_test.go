package delivery_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// testCA is a certificate for 127.0.0.1 made for the test, and the PEM
// file that trusts it.
type testCA struct {
	cert   tls.Certificate
	caFile string
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "roster test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	return testCA{cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile: file}
}

// message is what the test server received in one transaction.
type message struct {
	From string
	To   []string
	Data []byte
}

// authAttempt is one AUTH the server saw, and whether it came over TLS.
type authAttempt struct {
	User, Pass string
	TLS        bool
}

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on
// 127.0.0.1 that records what arrives. It requires AUTH PLAIN with
// user/pass before MAIL.
type smtpServer struct {
	Addr string

	mu       sync.Mutex
	messages []message
	auths    []authAttempt
	// refuseData is how many DATA commands to refuse with 451 (try again
	// later) before accepting.
	refuseData int
	// refuseDataFor refuses every DATA with this code (a 5xx) if set.
	refuseDataFor int
	// refuseRcpt refuses these recipients with 550.
	refuseRcpt map[string]bool
	dataTries  int
}

const (
	smtpUser = "roster"
	smtpPass = "s3cret-pass"
)

// startSMTP starts the server: implicit TLS if implicit, else plain with
// STARTTLS when ca is set. allowInsecureAuth lets the server take AUTH on
// a plain connection, so that a test can see whether the client sends it.
func startSMTP(t *testing.T, ca *testCA, implicit, allowInsecureAuth bool) *smtpServer {
	t.Helper()
	s := &smtpServer{refuseRcpt: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = allowInsecureAuth
	var l net.Listener
	var err error
	if ca != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.cert}, MinVersion: tls.VersionTLS12}
	}
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	require.NoError(t, err)
	s.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

func (s *smtpServer) Messages() []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]message(nil), s.messages...)
}

func (s *smtpServer) Auths() []authAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]authAttempt(nil), s.auths...)
}

func (s *smtpServer) DataTries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataTries
}

type session struct {
	s      *smtpServer
	conn   *smtp.Conn
	authed bool
	msg    message
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		_, isTLS := ss.conn.TLSConnectionState()
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, authAttempt{User: user, Pass: pass, TLS: isTLS})
		ss.s.mu.Unlock()
		if user != smtpUser || pass != smtpPass {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.msg = message{From: from}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	refuse := ss.s.refuseRcpt[to]
	ss.s.mu.Unlock()
	if refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataTries++
	if s.refuseDataFor != 0 {
		return &smtp.SMTPError{Code: s.refuseDataFor, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected by policy"}
	}
	if s.refuseData > 0 {
		s.refuseData--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	ss.msg.Data = b
	s.messages = append(s.messages, ss.msg)
	return nil
}

func (ss *session) Reset()        { ss.msg = message{} }
func (ss *session) Logout() error { return nil }
