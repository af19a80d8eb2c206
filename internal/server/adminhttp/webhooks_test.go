package adminhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/webhook"
)

// TestAdminAPIWebhooks adds an endpoint through the admin API, sees a
// signed delivery arrive, lets the next ones dead-letter, lists and
// redelivers them, and checks who may do what.
func TestAdminAPIWebhooks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, allowPrivateWebhooks) // the receiver is on 127.0.0.1
	root, ada, reader := e.login("root"), e.login("ada"), e.login("reader")
	var failing atomic.Bool
	var secret atomic.Value
	secret.Store("")
	got := make(chan string, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret.Load().(string), r.Header, body, time.Minute, time.Now()); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got <- string(body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	require.Equal(t, 201, e.call("POST", "/admin/api/tenants", root, `{"name":"acme"}`).status)
	require.Equal(t, 403, e.call("POST", "/admin/api/tenants/acme/webhooks", ada, `{"url":"`+hook.URL+`"}`).status, "only super admins manage webhooks")
	require.Equal(t, 400, e.call("POST", "/admin/api/tenants/acme/webhooks", root, `{"url":"ftp://x"}`).status)
	require.Equal(t, 400, e.call("POST", "/admin/api/tenants/acme/webhooks", root, `{"url":"`+hook.URL+`","eventTypes":["user.exploded"]}`).status)
	r := e.call("POST", "/admin/api/tenants/acme/webhooks", root, `{"url":"`+hook.URL+`","maxAttempts":2}`)
	require.Equal(t, 201, r.status, "%v", r.json)
	id := r.json["id"].(string)
	secret.Store(r.json["secret"].(string))
	require.True(t, strings.HasPrefix(secret.Load().(string), "whsec_"))
	list := e.call("GET", "/admin/api/tenants/acme/webhooks", root, "")
	require.Len(t, list.json["webhooks"], 1)
	require.Nil(t, list.json["webhooks"].([]any)[0].(map[string]any)["secret"], "the secret is shown once")

	// Deliveries run only while the background work runs.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.roster.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	issued := e.call("POST", "/admin/api/tenants/acme/tokens", root, `{"label":"idp"}`).json["token"].(string)
	scim := func(body string) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/scim/v2/acme/Users", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+issued)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, 201, res.StatusCode)
	}
	scim(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"first"}`)
	select {
	case body := <-got:
		require.Contains(t, body, `"type":"user.created"`)
		require.Contains(t, body, `"userName":"first"`)
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery")
	}

	failing.Store(true)
	scim(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"second"}`)
	var dead []any
	for deadline := time.Now().Add(30 * time.Second); len(dead) == 0; time.Sleep(100 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "never dead-lettered")
		dead = e.call("GET", "/admin/api/tenants/acme/webhooks/"+id+"/deliveries?state=dead", ada, "").json["deliveries"].([]any)
	}
	require.Equal(t, 403, e.call("GET", "/admin/api/tenants/acme/webhooks/"+id+"/deliveries", reader, "").status)
	require.Equal(t, 403, e.call("POST", "/admin/api/tenants/acme/webhooks/"+id+"/redeliver", ada, "").status)
	failing.Store(false)
	r = e.call("POST", "/admin/api/tenants/acme/webhooks/"+id+"/redeliver", root, "")
	require.Equal(t, 200, r.status, "%v", r.json)
	require.EqualValues(t, 1, r.json["redelivered"])
	select {
	case body := <-got:
		require.Contains(t, body, `"userName":"second"`)
	case <-time.After(15 * time.Second):
		t.Fatal("no redelivery")
	}

	require.Equal(t, 404, e.call("DELETE", "/admin/api/tenants/other/webhooks/"+id, root, "").status)
	require.Equal(t, 204, e.call("DELETE", "/admin/api/tenants/acme/webhooks/"+id, root, "").status)
	require.Empty(t, e.call("GET", "/admin/api/tenants/acme/webhooks", root, "").json["webhooks"])
}

// allowPrivateWebhooks is roster serve --webhook-allow-private.
func allowPrivateWebhooks(cfg *app.Config) { cfg.Webhook.AllowPrivate = true }

// TestAdminAPIWebhookDestinations: an endpoint URL that is a loopback,
// private or link-local address is refused (400) unless the server allows
// private destinations, and link-local even then.
func TestAdminAPIWebhookDestinations(t *testing.T) {
	t.Parallel()
	strict, onPrem := newEnv(t), newEnv(t, allowPrivateWebhooks)
	cases := []struct {
		url            string
		strict, onPrem int
	}{
		{"https://hooks.example.com/roster", 201, 201},
		{"http://127.0.0.1:8080/hook", 400, 201},
		{"http://[::ffff:127.0.0.1]:8080/hook", 400, 201},
		{"http://10.1.2.3/hook", 400, 201},
		{"http://localhost/hook", 400, 201},
		{"http://169.254.169.254/latest/meta-data/", 400, 400},
		{"http://[fe80::1]/hook", 400, 400},
		{"http://0.0.0.0/hook", 400, 400},
	}
	for _, e := range []*env{strict, onPrem} {
		require.Equal(t, 201, e.call("POST", "/admin/api/tenants", e.login("root"), `{"name":"acme"}`).status)
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			t.Parallel()
			for _, x := range []struct {
				e    *env
				want int
			}{{strict, c.strict}, {onPrem, c.onPrem}} {
				r := x.e.call("POST", "/admin/api/tenants/acme/webhooks", "basic:root", `{"url":"`+c.url+`"}`)
				require.Equal(t, x.want, r.status, "%v", r.json)
				if x.want == 400 {
					require.Contains(t, r.json["message"], "not a public address")
				}
			}
		})
	}
}
