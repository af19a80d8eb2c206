package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/provision/notify"
)

// TLS modes of the connection to the SMTP server (SMTPConfig.TLS).
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS before
	// anything else is sent; a server that does not offer it is refused.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit = "tls"
	// TLSNone sends in plain text: for a relay on the same host or a lab
	// only, and never with credentials.
	TLSNone = "none"
)

// DefaultSMTPTimeout bounds one delivery: connecting, the conversation and
// the message.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig is how Roster reaches its SMTP server (roster serve's --smtp-*
// flags).
type SMTPConfig struct {
	// Addr is the server's host:port. Empty means e-mail is not
	// configured.
	Addr string
	// Username and Password, both set, authenticate with AUTH PLAIN over
	// TLS. The password is never logged.
	Username, Password string
	// From is the sender address; DefaultFrom() if empty.
	From string
	// TLS is TLSStartTLS (the default when empty), TLSImplicit or TLSNone.
	TLS string
	// CAFile, if set, names PEM certificates trusted for the server besides
	// the system's (a lab or test CA).
	CAFile string
	// Timeout bounds one delivery; DefaultSMTPTimeout if zero.
	Timeout time.Duration
}

// String describes the configuration without the password, so that
// printing or logging one never shows it.
func (c SMTPConfig) String() string {
	pw := ""
	if c.Password != "" {
		pw = " password=[redacted]"
	}
	return fmt.Sprintf("smtp addr=%s tls=%s from=%s username=%s%s ca-file=%s", c.Addr, c.TLS, c.From, c.Username, pw, c.CAFile)
}

// LogValue logs the configuration as String does.
func (c SMTPConfig) LogValue() slog.Value { return slog.StringValue(c.String()) }

// DefaultFrom returns the sender address used when none is configured:
// roster-noreply@ the host's name.
func DefaultFrom() string {
	host, err := os.Hostname()
	if err != nil || host == "" || strings.ContainsAny(host, " @<>\"") {
		host = "localhost"
	}
	return "roster-noreply@" + host
}

// Mailer sends notices by e-mail through one SMTP server.
type Mailer struct {
	cfg  SMTPConfig
	from *mail.Address
	tls  *tls.Config
	host string // the server's host name, for TLS
	// hello is the name Roster gives in EHLO: the domain of its From.
	hello string
}

// NewMailer checks cfg and returns a Mailer that sends with it. It refuses
// a configuration that would send credentials in plain text.
func NewMailer(cfg SMTPConfig) (*Mailer, error) {
	if cfg.Addr == "" {
		return nil, errors.New("smtp: no server address (--smtp-addr)")
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("smtp: server address %q: want host:port", cfg.Addr)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("smtp: TLS mode %q: use %s, %s or %s", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("smtp: set both a username and a password, or neither")
	}
	if cfg.Username != "" && cfg.TLS == TLSNone {
		return nil, errors.New("smtp: credentials are never sent without TLS: use --smtp-tls starttls or tls")
	}
	if cfg.From == "" {
		cfg.From = DefaultFrom()
	}
	from, err := notify.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: sender: %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	m := &Mailer{cfg: cfg, from: from, host: host, hello: from.Address[strings.LastIndexByte(from.Address, '@')+1:]}
	if cfg.TLS != TLSNone {
		m.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("smtp: CA file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("smtp: CA file %s: no PEM certificate in it", cfg.CAFile)
			}
			m.tls.RootCAs = pool
		}
	}
	return m, nil
}

// PermanentError is a refusal the SMTP server says will not change on a
// retry (a 5xx reply, RFC 5321 §4.2.1): the notice is not sent again.
type PermanentError struct {
	Code int
	Msg  string
}

func (e *PermanentError) Error() string {
	return fmt.Sprintf("smtp: permanent failure %d %s", e.Code, e.Msg)
}

// classify turns a 5xx reply into a *PermanentError; every other error
// (4xx, a dropped connection, a timeout) is left to be retried.
func classify(step string, err error) error {
	if err == nil {
		return nil
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return fmt.Errorf("%s: %w", step, &PermanentError{Code: te.Code, Msg: te.Msg})
	}
	return fmt.Errorf("smtp %s: %w", step, err)
}

// Send sends the notice n, as the message Compose makes with id, to the
// addresses to, in one SMTP transaction. An address the server refuses
// with 5xx while others are accepted is logged by the caller from the
// returned error; the message goes to the rest.
func (m *Mailer) Send(ctx context.Context, to []string, n notify.Notice, id string) error {
	rcpts := make([]*mail.Address, 0, len(to))
	for _, s := range to {
		a, err := notify.ParseAddress(s)
		if err != nil {
			return &PermanentError{Code: 0, Msg: err.Error()}
		}
		rcpts = append(rcpts, a)
	}
	if len(rcpts) == 0 {
		return nil
	}
	msg := Compose(m.from, rcpts, n, id, time.Now())

	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	d := net.Dialer{}
	var conn net.Conn
	var err error
	if m.cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: m.tls}).DialContext(ctx, "tcp", m.cfg.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", m.cfg.Addr)
	}
	if err != nil {
		return fmt.Errorf("smtp connect %s: %w", m.cfg.Addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// Closing the connection when ctx ends unblocks a conversation that
	// waits on the server.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		conn.Close()
		return classify("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(m.hello); err != nil {
		return classify("EHLO", err)
	}
	if m.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			// Retried: a server that lost STARTTLS is a fault to fix, and
			// the notice must not go out in plain text meanwhile.
			return errors.New("smtp: the server does not offer STARTTLS (--smtp-tls starttls)")
		}
		if err := c.StartTLS(m.tls); err != nil {
			return classify("STARTTLS", err)
		}
	}
	if m.cfg.Username != "" {
		// net/smtp's PlainAuth itself refuses to send credentials over a
		// connection without TLS to anything but localhost; the check in
		// NewMailer keeps them off plain connections altogether.
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.host)); err != nil {
			return classify("AUTH", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return classify("MAIL FROM", err)
	}
	var refused []error
	for _, r := range rcpts {
		if err := c.Rcpt(r.Address); err != nil {
			var te *textproto.Error
			if errors.As(err, &te) && te.Code >= 500 {
				refused = append(refused, fmt.Errorf("RCPT TO %s: %w", r.Address, &PermanentError{Code: te.Code, Msg: te.Msg}))
				continue
			}
			return classify("RCPT TO "+r.Address, err)
		}
	}
	if len(refused) == len(rcpts) {
		return errors.Join(refused...)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("end of DATA", err)
	}
	_ = c.Quit()
	if len(refused) > 0 {
		return &PartialError{Refused: errors.Join(refused...)}
	}
	return nil
}

// PartialError means the message was accepted for some recipients and
// refused for good (5xx) for the others: it is not sent again.
type PartialError struct{ Refused error }

func (e *PartialError) Error() string { return "smtp: some recipients refused: " + e.Refused.Error() }

func (e *PartialError) Unwrap() error { return e.Refused }

// Subject returns the subject line of a notice's e-mail, on one line
// whatever the notice's fields hold.
func Subject(n notify.Notice) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, subject(n))
}

func subject(n notify.Notice) string {
	switch n.Kind {
	case notify.Quarantined:
		return withReason("[Roster] Job "+n.Job+" is in quarantine", n.Reason)
	case notify.DeletesHeld:
		return withReason(fmt.Sprintf("[Roster] Job %s held %d deletions", n.Job, n.Held), n.Reason)
	case notify.Recovered:
		return "[Roster] Job " + n.Job + " has recovered"
	}
	return withReason("[Roster] Job "+n.Job+": "+string(n.Kind), n.Reason)
}

func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + ": " + reason
}

// Body returns the plain-text body of a notice's e-mail: what happened,
// when, in which cycle, and the commands that show and resolve it.
func Body(n notify.Notice) string {
	var b strings.Builder
	state := map[notify.Kind]string{
		notify.Quarantined: "in quarantine: its cycles run less often until the cause is fixed",
		notify.DeletesHeld: "stopped: a cycle held more disables and deletes than the job's deletion threshold allows",
		notify.Recovered:   "recovered: it left quarantine after a cycle that succeeded, and runs on its schedule again",
	}[n.Kind]
	if state == "" {
		state = string(n.Kind)
	}
	fmt.Fprintf(&b, "Provisioning job %s is %s.\n\n", n.Job, state)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-8s %s\n", k+":", v)
		}
	}
	line("Job", n.Job)
	line("Reason", n.Reason)
	line("Detail", n.Detail)
	if n.Kind == notify.DeletesHeld {
		line("Held", fmt.Sprintf("%d disables and deletes", n.Held))
	}
	if !n.Since.IsZero() {
		line("Since", n.Since.UTC().Format(time.RFC3339))
	}
	line("Cycle", n.Cycle)
	if !n.Time.IsZero() {
		line("Time", n.Time.UTC().Format(time.RFC3339))
	}
	b.WriteString("\nWhat to do:\n")
	fmt.Fprintf(&b, "  See the job's state, its last cycles and why:   roster job show %s\n", n.Job)
	switch n.Kind {
	case notify.Quarantined:
		fmt.Fprintf(&b, "  Once the cause is fixed, run it again now:      roster job restart %s\n", n.Job)
	case notify.DeletesHeld:
		fmt.Fprintf(&b, "  If the deletions are intended, let them run:    roster job allow-deletes %s\n", n.Job)
		fmt.Fprintf(&b, "  If not, fix the source or the scoping, then:    roster job restart %s\n", n.Job)
	case notify.Recovered:
		b.WriteString("  Nothing: this is for your records.\n")
	}
	b.WriteString("\nYou get this because the job's notifications list your address.\n")
	return b.String()
}

// Compose returns the RFC 5322 message of notice n from from to the
// recipients, with id as its Message-ID's local part: Date, Message-ID,
// From, To, Subject (RFC 2047 encoded when not ASCII), and a text/plain
// UTF-8 body in quoted-printable, so that any line length and any
// character survive every relay. Lines end in CRLF.
func Compose(from *mail.Address, to []*mail.Address, n notify.Notice, id string, now time.Time) []byte {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+id+"@"+from.Address[strings.LastIndexByte(from.Address, '@')+1:]+">")
	h("From", from.String())
	tos := make([]string, len(to))
	for i, a := range to {
		tos[i] = a.String()
	}
	h("To", strings.Join(tos, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", Subject(n)))
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	// RFC 3834: an automatic message, which auto-responders must not
	// answer.
	h("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(crlf(Body(n))))
	_ = qp.Close()
	return b.Bytes()
}

// crlf returns s with every line ending (CRLF, CR or LF) written as CRLF,
// as RFC 5322 requires.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}
