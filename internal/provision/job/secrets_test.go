package job

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKeepSecrets(t *testing.T) {
	stored := Job{
		Source: Source{Type: SourceLDAP, URL: "ldaps://ldap.example.com", BindPassword: "ldap-pw"},
		Target: Target{URL: "https://app:url-pw@app.example.com/scim", Token: "tok",
			OAuth: &OAuthClient{TokenURL: "https://idp.example.com/token", ClientID: "c", ClientSecret: "oauth-secret"}},
	}
	scimStored := Job{Source: Source{Type: SourceSCIM, URL: "https://hr.example.com/scim", Token: "src-tok"}}
	cases := []struct {
		name     string
		in       Job
		stored   Job
		want     Job
		leftover string
	}{
		{
			name:   "RedactedKeepsStored",
			in:     stored.Redacted(),
			stored: stored,
			want:   stored,
		},
		{
			name:   "NewValuesWin",
			in:     Job{Source: Source{BindPassword: "new-pw"}, Target: Target{URL: "https://other.example.com", Token: "new-tok"}},
			stored: stored,
			want:   Job{Source: Source{BindPassword: "new-pw"}, Target: Target{URL: "https://other.example.com", Token: "new-tok"}},
		},
		{
			name:     "NothingStored",
			in:       Job{Target: Target{Token: Redacted}},
			stored:   Job{},
			want:     Job{Target: Target{Token: Redacted}},
			leftover: "target.token",
		},
		{
			name:     "OAuthSecretWithoutStoredOAuth",
			in:       Job{Target: Target{OAuth: &OAuthClient{ClientSecret: Redacted}}},
			stored:   Job{Target: Target{Token: "tok"}},
			want:     Job{Target: Target{OAuth: &OAuthClient{ClientSecret: Redacted}}},
			leftover: "target.oauth.clientSecret",
		},
		{
			name:   "SCIMSourceToken",
			in:     scimStored.Redacted(),
			stored: scimStored,
			want:   scimStored,
		},
		{
			name:     "SourceTokenOfAnotherJob",
			in:       Job{Source: Source{Token: Redacted}},
			stored:   stored,
			want:     Job{Source: Source{Token: Redacted}},
			leftover: "source.token",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.in.KeepSecrets(c.stored)
			require.Equal(t, c.want, got)
			require.Equal(t, c.leftover, got.RedactedLeft())
		})
	}
	// The stored job is not changed through a shared OAuth pointer.
	in := stored.Redacted()
	in.KeepSecrets(stored).Target.OAuth.ClientSecret = "changed"
	require.Equal(t, "oauth-secret", stored.Target.OAuth.ClientSecret)
}
