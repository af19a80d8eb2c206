package cli

import (
	"os"
	"testing"

	"github.com/spf13/pflag"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
)

// TestSMTPConfiguration checks the --smtp-* flags and their ROSTER_SMTP_*
// environment variables: a flag wins over its variable, the password is
// taken from the environment, and a configuration that would send
// credentials without TLS is refused before the server starts.
func TestSMTPConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		want  func(t *testing.T, c app.Config)
		error string
	}{
		{name: "None", want: func(t *testing.T, c app.Config) { require.Empty(t, c.SMTP.Addr) }},
		{name: "FromEnv", env: map[string]string{"ROSTER_SMTP_ADDR": "mail.example.com:587", "ROSTER_SMTP_USERNAME": "roster",
			"ROSTER_SMTP_PASSWORD": "pw-from-env", "ROSTER_SMTP_FROM": "ops-bot@example.com"},
			want: func(t *testing.T, c app.Config) {
				require.Equal(t, "mail.example.com:587", c.SMTP.Addr)
				require.Equal(t, "roster", c.SMTP.Username)
				require.Equal(t, "pw-from-env", c.SMTP.Password)
				require.Equal(t, "ops-bot@example.com", c.SMTP.From)
				require.Equal(t, "starttls", c.SMTP.TLS)
			}},
		{name: "FlagWinsOverEnv", env: map[string]string{"ROSTER_SMTP_ADDR": "env.example.com:25", "ROSTER_SMTP_TLS": "tls"},
			args: []string{"--smtp-addr", "flag.example.com:465"},
			want: func(t *testing.T, c app.Config) {
				require.Equal(t, "flag.example.com:465", c.SMTP.Addr)
				require.Equal(t, "tls", c.SMTP.TLS)
			}},
		{name: "CredentialsWithoutTLS", env: map[string]string{"ROSTER_SMTP_PASSWORD": "pw"},
			args: []string{"--smtp-addr", "mail.example.com:25", "--smtp-username", "u", "--smtp-tls", "none"}, error: "never sent without TLS"},
		{name: "BadMode", args: []string{"--smtp-addr", "mail.example.com:25", "--smtp-tls", "ssl"}, error: `TLS mode "ssl"`},
		{name: "UsernameWithoutServer", args: []string{"--smtp-username", "u"}, error: "--smtp-username needs --smtp-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range smtpEnv {
				// t.Setenv restores the variable after the test; the
				// case's variables are set, the others unset, so that
				// LookupEnv sees only the case's.
				t.Setenv(m.env, tc.env[m.env])
				if _, ok := tc.env[m.env]; !ok {
					require.NoError(t, os.Unsetenv(m.env))
				}
			}
			var cfg app.Config
			f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			smtpFlags(f, &cfg.SMTP)
			require.NoError(t, f.Parse(tc.args))
			err := smtpFromEnv(f, &cfg.SMTP)
			if tc.error != "" {
				require.ErrorContains(t, err, tc.error)
				return
			}
			require.NoError(t, err)
			tc.want(t, cfg)
			require.NotContains(t, f.FlagUsages(), "pw-from-env", "help never shows the password")
		})
	}
}
