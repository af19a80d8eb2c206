// Package smtptest starts a real SMTP server (github.com/emersion/go-smtp)
// on 127.0.0.1 for tests of the packages that send e-mail: it speaks
// STARTTLS or implicit TLS with a certificate from a CA made for the test,
// requires AUTH PLAIN with User and Password before MAIL, records every
// message and AUTH it sees, and refuses on command (451 or a 5xx to DATA,
// 550 to a recipient). Runtime code never imports it.
package smtptest

import (
	"bytes"
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
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The credentials the server accepts.
const (
	User     = "roster"
	Password = "s3cret-pass"
)

// CA is a self-signed certificate for 127.0.0.1 and localhost, made for
// the test, that the server presents; a client trusts it through File,
// PEM or Pool.
type CA struct {
	Cert tls.Certificate
	// PEM is the certificate, PEM-encoded.
	PEM []byte
	// File is a file in the test's temporary directory holding PEM.
	File string
	// Pool holds the certificate alone.
	Pool *x509.CertPool
}

// NewCA makes a CA valid for an hour around now.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("smtptest: CA key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "roster test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("smtptest: CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("smtptest: CA certificate: %v", err)
	}
	ca := &CA{Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	ca.File = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca.File, ca.PEM, 0o600); err != nil {
		t.Fatalf("smtptest: CA file: %v", err)
	}
	return ca
}

// Mode is how a client reaches the server's TLS.
type Mode int

// The modes of Options.Mode.
const (
	// StartTLS serves plain text and offers STARTTLS (submission, port
	// 587): Roster's default.
	StartTLS Mode = iota
	// Implicit speaks TLS from the first byte (SMTPS, port 465).
	Implicit
	// Plain serves plain text without STARTTLS.
	Plain
)

// Options configure Start. The zero value is a server like a production
// submission port: STARTTLS with a new CA, AUTH only over TLS.
type Options struct {
	Mode Mode
	// CA is the certificate the server presents; nil makes one (unused in
	// Plain mode).
	CA *CA
	// AllowInsecureAuth lets the server take AUTH on a connection without
	// TLS, so that a test can see whether the client sends it.
	AllowInsecureAuth bool
}

// Message is what the server received in one transaction.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Auth is one AUTH the server saw, and whether it came over TLS.
type Auth struct {
	User, Pass string
	TLS        bool
}

// Server is a running SMTP server. Its methods may be called while
// clients talk to it.
type Server struct {
	// Addr is the server's host:port.
	Addr string
	// CA is the certificate the server presents; nil in Plain mode.
	CA *CA

	mu       sync.Mutex
	messages []Message
	auths    []Auth
	// refuseData is how many DATA commands to refuse with 451 (try again
	// later) before accepting.
	refuseData int
	// refuseDataWith refuses every DATA with this code (a 5xx) if set.
	refuseDataWith int
	// refuseRcpt refuses these recipients with 550.
	refuseRcpt map[string]bool
	dataTries  int
}

// Start starts a server on 127.0.0.1; it stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{refuseRcpt: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.AllowInsecureAuth = o.AllowInsecureAuth
	if o.Mode != Plain {
		s.CA = o.CA
		if s.CA == nil {
			s.CA = NewCA(t)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{s.CA.Cert}, MinVersion: tls.VersionTLS12}
	}
	var l net.Listener
	var err error
	if o.Mode == Implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
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

// RefuseData makes the server refuse the next n DATA commands with 451
// (try again later) before it accepts again.
func (s *Server) RefuseData(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseData = n
}

// RefuseDataWith makes the server refuse every DATA with code, a 5xx (a
// permanent refusal); 0 accepts again.
func (s *Server) RefuseDataWith(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseDataWith = code
}

// RefuseRcpt makes the server refuse the recipient addr with 550.
func (s *Server) RefuseRcpt(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseRcpt[addr] = true
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Auths returns the AUTH attempts seen so far, in order.
func (s *Server) Auths() []Auth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Auth(nil), s.auths...)
}

// DataTries returns how many DATA commands reached their end, accepted or
// refused.
func (s *Server) DataTries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataTries
}

// Await waits up to within for the server to have accepted n messages in
// all, failing the test if it has not, and returns them all.
func (s *Server) Await(t testing.TB, n int, within time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		msgs := s.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtptest: %d messages after %v, want %d", len(msgs), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Read is a message as a mail client shows it.
type Read struct {
	Header mail.Header
	// Subject is the decoded Subject header (RFC 2047).
	Subject string
	// Body is the decoded body (quoted-printable if the message says so).
	Body string
}

// Read parses m as a mail client would.
func (m Message) Read() (Read, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return Read{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Read{}, err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(msg.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return Read{}, err
	}
	return Read{Header: msg.Header, Subject: subject, Body: string(b)}, nil
}

type session struct {
	s      *Server
	conn   *smtp.Conn
	authed bool
	msg    Message
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		_, isTLS := ss.conn.TLSConnectionState()
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, Auth{User: user, Pass: pass, TLS: isTLS})
		ss.s.mu.Unlock()
		if user != User || pass != Password {
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
	ss.msg = Message{From: from}
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
	if s.refuseDataWith != 0 {
		return &smtp.SMTPError{Code: s.refuseDataWith, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "rejected by policy"}
	}
	if s.refuseData > 0 {
		s.refuseData--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	ss.msg.Data = b
	s.messages = append(s.messages, ss.msg)
	return nil
}

func (ss *session) Reset()        { ss.msg = Message{} }
func (ss *session) Logout() error { return nil }
