package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/provision/notify/delivery"
	"github.com/rosterhq/roster/internal/provision/notify/smtptest"
)

var at = time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)

func quarantined() notify.Notice {
	return notify.Notice{Job: "hr-to-app", Kind: notify.Quarantined, Reason: "EncounteredQuarantineException",
		Detail: "The target answered 401 Unauthorized to every request: check the job's target token.",
		Cycle:  "cyc-42", Time: at, Since: at.Add(-time.Hour)}
}

// readMessage parses a message as a mail client would: headers, the
// decoded subject and the decoded body.
func readMessage(t *testing.T, raw []byte) (*mail.Message, string, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "quoted-printable", m.Header.Get("Content-Transfer-Encoding"))
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	require.NoError(t, err)
	return m, subject, string(body)
}

func TestCompose(t *testing.T) {
	t.Parallel()
	from := &mail.Address{Name: "Roster", Address: "roster-noreply@example.com"}
	to := []*mail.Address{{Address: "ops@example.com"}, {Name: "Lead", Address: "lead@example.com"}}
	for _, tc := range []struct {
		name        string
		n           notify.Notice
		subject     string
		bodyHas     []string
		bodyHasNone []string
	}{
		{"Quarantined", quarantined(), "[Roster] Job hr-to-app is in quarantine: EncounteredQuarantineException",
			[]string{"Job:     hr-to-app", "Reason:  EncounteredQuarantineException", "401 Unauthorized", "Cycle:   cyc-42",
				"Time:    2026-12-07T21:00:00Z", "Since:   2026-12-07T20:00:00Z", "roster job show hr-to-app", "roster job restart hr-to-app"},
			[]string{"allow-deletes"}},
		{"DeletesHeld", notify.Notice{Job: "hr-to-app", Kind: notify.DeletesHeld, Reason: "DeletionThresholdExceeded", Held: 57,
			Detail: "57 disables and deletes, over the threshold of 50.", Cycle: "cyc-43", Time: at},
			"[Roster] Job hr-to-app held 57 deletions: DeletionThresholdExceeded",
			[]string{"Held:    57 disables and deletes", "roster job allow-deletes hr-to-app", "roster job restart hr-to-app"}, nil},
		{"Recovered", notify.Notice{Job: "hr-to-app", Kind: notify.Recovered, Cycle: "cyc-44", Time: at, Since: at.Add(-time.Hour)},
			"[Roster] Job hr-to-app has recovered", []string{"recovered", "Cycle:   cyc-44"}, []string{"Reason:", "restart", "allow-deletes"}},
		{"NonASCIIAndInjection", notify.Notice{Job: "hr", Kind: notify.Quarantined, Reason: "Zürich\r\nBcc: evil@example.com",
			Detail: "Ünïcödé détail — " + strings.Repeat("long ", 40), Time: at},
			"[Roster] Job hr is in quarantine: Zürich  Bcc: evil@example.com",
			[]string{"Ünïcödé détail — long long", strings.Repeat("long ", 39)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raw := delivery.Compose(from, to, tc.n, "notice-1", at)
			for i, line := range strings.SplitAfter(string(raw), "\r\n") {
				require.LessOrEqual(t, len(line), 998, "line %d", i)
				require.False(t, strings.Contains(strings.TrimSuffix(line, "\r\n"), "\n"), "line %d has a bare LF", i)
			}
			m, subject, body := readMessage(t, raw)
			require.Equal(t, tc.subject, subject)
			require.Empty(t, m.Header.Get("Bcc"), "no header can be injected")
			require.Equal(t, "<notice-1@example.com>", m.Header.Get("Message-Id"))
			date, err := m.Header.Date()
			require.NoError(t, err)
			require.True(t, at.Equal(date))
			f, err := mail.ParseAddress(m.Header.Get("From"))
			require.NoError(t, err)
			require.Equal(t, "roster-noreply@example.com", f.Address)
			tos, err := m.Header.AddressList("To")
			require.NoError(t, err)
			require.Equal(t, []string{"ops@example.com", "lead@example.com"}, []string{tos[0].Address, tos[1].Address})
			require.Equal(t, "text/plain; charset=utf-8", m.Header.Get("Content-Type"))
			require.Equal(t, "auto-generated", m.Header.Get("Auto-Submitted"))
			for _, s := range tc.bodyHas {
				require.Contains(t, strings.ReplaceAll(body, "\r\n", "\n"), s)
			}
			for _, s := range tc.bodyHasNone {
				require.NotContains(t, body, s)
			}
		})
	}
}

func TestNewMailerRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  delivery.SMTPConfig
		want string
	}{
		{"NoAddress", delivery.SMTPConfig{}, "no server address"},
		{"NoPort", delivery.SMTPConfig{Addr: "mail.example.com"}, "want host:port"},
		{"BadTLSMode", delivery.SMTPConfig{Addr: "mail.example.com:25", TLS: "ssl"}, `TLS mode "ssl"`},
		{"CredentialsWithoutTLS", delivery.SMTPConfig{Addr: "mail.example.com:25", TLS: delivery.TLSNone, Username: "u", Password: "p"}, "never sent without TLS"},
		{"UsernameOnly", delivery.SMTPConfig{Addr: "mail.example.com:25", Username: "u"}, "both a username and a password"},
		{"BadFrom", delivery.SMTPConfig{Addr: "mail.example.com:25", From: "roster"}, "sender"},
		{"MissingCAFile", delivery.SMTPConfig{Addr: "mail.example.com:25", CAFile: "/nonexistent/ca.pem"}, "CA file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := delivery.NewMailer(tc.cfg)
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "p\"", "no password in errors")
		})
	}
	m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: "127.0.0.1:25", TLS: delivery.TLSNone})
	require.NoError(t, err, "no credentials, no TLS: a local relay")
	require.NotNil(t, m)
	require.True(t, strings.HasPrefix(delivery.DefaultFrom(), "roster-noreply@"))
}

// TestSend sends through a real SMTP server over STARTTLS and over
// implicit TLS, authenticating with AUTH PLAIN, and checks what arrived.
func TestSend(t *testing.T) {
	t.Parallel()
	ca := smtptest.NewCA(t)
	for _, mode := range []string{delivery.TLSStartTLS, delivery.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			// The server would take AUTH over plain text, so the test sees
			// whether the client waits for TLS.
			srvMode := map[string]smtptest.Mode{delivery.TLSStartTLS: smtptest.StartTLS, delivery.TLSImplicit: smtptest.Implicit}[mode]
			srv := smtptest.Start(t, smtptest.Options{Mode: srvMode, CA: ca, AllowInsecureAuth: true})
			m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: srv.Addr, Username: smtptest.User, Password: smtptest.Password,
				From: "Roster <roster@example.com>", TLS: mode, CAFile: ca.File, Timeout: 10 * time.Second})
			require.NoError(t, err)
			require.NoError(t, m.Send(context.Background(), []string{"ops@example.com", "Lead <lead@example.com>"}, quarantined(), "n-1"))

			require.Equal(t, []smtptest.Auth{{User: smtptest.User, Pass: smtptest.Password, TLS: true}}, srv.Auths(), "credentials only over TLS")
			msgs := srv.Messages()
			require.Len(t, msgs, 1)
			require.Equal(t, "roster@example.com", msgs[0].From)
			require.Equal(t, []string{"ops@example.com", "lead@example.com"}, msgs[0].To)
			_, subject, body := readMessage(t, msgs[0].Data)
			require.Equal(t, "[Roster] Job hr-to-app is in quarantine: EncounteredQuarantineException", subject)
			require.Contains(t, body, "roster job restart hr-to-app")
		})
	}
}

// TestSendFailures checks what the client refuses to do and how it
// classifies the server's refusals.
func TestSendFailures(t *testing.T) {
	t.Parallel()
	ca := smtptest.NewCA(t)
	ctx := context.Background()

	t.Run("NoSTARTTLSOffered", func(t *testing.T) {
		t.Parallel()
		// A server without TLS that would take AUTH in plain text: the
		// client must neither authenticate nor send.
		srv := smtptest.Start(t, smtptest.Options{Mode: smtptest.Plain, AllowInsecureAuth: true})
		m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: srv.Addr, Username: smtptest.User, Password: smtptest.Password,
			From: "roster@example.com", CAFile: ca.File, Timeout: 10 * time.Second})
		require.NoError(t, err)
		err = m.Send(ctx, []string{"ops@example.com"}, quarantined(), "n-1")
		require.ErrorContains(t, err, "does not offer STARTTLS")
		var perm *delivery.PermanentError
		require.False(t, errors.As(err, &perm), "retried: the server may be fixed")
		require.Empty(t, srv.Auths(), "no credentials in plain text")
		require.Empty(t, srv.Messages())
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.Start(t, smtptest.Options{CA: ca})
		m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: srv.Addr, Username: smtptest.User, Password: smtptest.Password,
			From: "roster@example.com", Timeout: 10 * time.Second})
		require.NoError(t, err)
		require.ErrorContains(t, m.Send(ctx, []string{"ops@example.com"}, quarantined(), "n-1"), "certificate")
		require.Empty(t, srv.Auths())
	})
	t.Run("TemporaryRefusal", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.Start(t, smtptest.Options{CA: ca})
		srv.RefuseData(1)
		m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: srv.Addr, Username: smtptest.User, Password: smtptest.Password,
			From: "roster@example.com", CAFile: ca.File, Timeout: 10 * time.Second})
		require.NoError(t, err)
		err = m.Send(ctx, []string{"ops@example.com"}, quarantined(), "n-1")
		require.ErrorContains(t, err, "451")
		var perm *delivery.PermanentError
		require.False(t, errors.As(err, &perm))
		require.NoError(t, m.Send(ctx, []string{"ops@example.com"}, quarantined(), "n-1"))
		require.Len(t, srv.Messages(), 1)
	})
	t.Run("PermanentRefusal", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.Start(t, smtptest.Options{CA: ca})
		srv.RefuseDataWith(554)
		m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: srv.Addr, Username: smtptest.User, Password: smtptest.Password,
			From: "roster@example.com", CAFile: ca.File, Timeout: 10 * time.Second})
		require.NoError(t, err)
		err = m.Send(ctx, []string{"ops@example.com"}, quarantined(), "n-1")
		var perm *delivery.PermanentError
		require.ErrorAs(t, err, &perm)
		require.Equal(t, 554, perm.Code)
	})
	t.Run("SomeRecipientsRefused", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.Start(t, smtptest.Options{CA: ca})
		srv.RefuseRcpt("gone@example.com")
		m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: srv.Addr, Username: smtptest.User, Password: smtptest.Password,
			From: "roster@example.com", CAFile: ca.File, Timeout: 10 * time.Second})
		require.NoError(t, err)
		err = m.Send(ctx, []string{"gone@example.com", "ops@example.com"}, quarantined(), "n-1")
		var partial *delivery.PartialError
		require.ErrorAs(t, err, &partial)
		require.ErrorContains(t, err, "gone@example.com")
		msgs := srv.Messages()
		require.Len(t, msgs, 1)
		require.Equal(t, []string{"ops@example.com"}, msgs[0].To)
	})
	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		srv := smtptest.Start(t, smtptest.Options{CA: ca})
		m, err := delivery.NewMailer(delivery.SMTPConfig{Addr: srv.Addr, Username: smtptest.User, Password: "wrong",
			From: "roster@example.com", CAFile: ca.File, Timeout: 10 * time.Second})
		require.NoError(t, err)
		err = m.Send(ctx, []string{"ops@example.com"}, quarantined(), "n-1")
		require.Error(t, err)
		require.NotContains(t, err.Error(), "wrong", "the password is not in the error")
		require.Empty(t, srv.Messages())
	})
}

// TestConfigNeverShowsPassword prints and logs a configuration every way a
// caller might.
func TestConfigNeverShowsPassword(t *testing.T) {
	t.Parallel()
	c := delivery.SMTPConfig{Addr: "mail.example.com:587", Username: "roster", Password: "hunter2-secret", TLS: delivery.TLSStartTLS}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("smtp", "config", c)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("smtp", "config", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %s", c, c, c), logged.String()} {
		require.NotContains(t, out, "hunter2-secret")
		require.Contains(t, out, "mail.example.com:587")
	}
	require.Contains(t, c.String(), "password=[redacted]")
}

// FuzzCompose checks that whatever a notice's fields hold, its message
// parses, has exactly Compose's headers (none injected), and its subject
// and body decode.
func FuzzCompose(f *testing.F) {
	f.Add("hr-to-app", "quarantined", "EncounteredQuarantineException", "401 from the target", "cyc-1", 3)
	f.Add("j", "deletesHeld", "Zürich\r\nBcc: x@example.com", "line\nnext\r\n.\r\n", "c", 57)
	f.Add("", "", "", "", "", 0)
	from := &mail.Address{Name: "Roster", Address: "roster@example.com"}
	to := []*mail.Address{{Address: "ops@example.com"}}
	want := []string{"Auto-Submitted", "Content-Transfer-Encoding", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}
	f.Fuzz(func(t *testing.T, job, kind, reason, detail, cycle string, held int) {
		n := notify.Notice{Job: job, Kind: notify.Kind(kind), Reason: reason, Detail: detail, Cycle: cycle, Held: held, Time: at}
		raw := delivery.Compose(from, to, n, "id-1", at)
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("message does not parse: %v\n%s", err, raw)
		}
		var keys []string
		for k := range m.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("headers %v, want %v", keys, want)
		}
		if _, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
			t.Fatalf("subject does not decode: %v", err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
		if err != nil {
			t.Fatalf("body does not decode: %v", err)
		}
		if !utf8.Valid([]byte(detail)) {
			return
		}
		lf := strings.ReplaceAll(strings.ReplaceAll(detail, "\r\n", "\n"), "\r", "\n")
		if !strings.Contains(string(body), strings.ReplaceAll(lf, "\n", "\r\n")) {
			t.Fatalf("body lost the detail %q:\n%s", detail, body)
		}
	})
}
