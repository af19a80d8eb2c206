package adminhttp

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/admin"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/server/guard"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/tenant"
)

func (h *Handler) routes() {
	h.mux.HandleFunc("POST /admin/api/login", h.login)
	h.handle("POST /admin/api/logout", admin.ReadTenants, h.logout)
	h.handle("GET /admin/api/me", admin.ReadTenants, h.me)

	h.handle("GET /admin/api/tenants", admin.ReadTenants, h.listTenants)
	h.handle("POST /admin/api/tenants", admin.ManageTenants, h.createTenant)
	h.handle("GET /admin/api/tenants/{tenant}", admin.ReadTenants, h.showTenant)
	h.handle("PATCH /admin/api/tenants/{tenant}", admin.ManageTenants, h.updateTenant)
	h.handle("DELETE /admin/api/tenants/{tenant}", admin.ManageTenants, h.deleteTenant)

	h.handle("GET /admin/api/tenants/{tenant}/tokens", admin.ManageCredentials, h.listTokens)
	h.handle("POST /admin/api/tenants/{tenant}/tokens", admin.ManageCredentials, h.issueToken)
	h.handle("DELETE /admin/api/tenants/{tenant}/tokens/{id}", admin.ManageCredentials, h.revokeToken)

	h.handle("GET /admin/api/tenants/{tenant}/jwt", admin.ManageCredentials, h.showJWT)
	h.handle("PUT /admin/api/tenants/{tenant}/jwt", admin.ManageCredentials, h.configureJWT)
	h.handle("DELETE /admin/api/tenants/{tenant}/jwt", admin.ManageCredentials, h.disableJWT)
	h.handle("POST /admin/api/tenants/{tenant}/jwt/tokens", admin.ManageCredentials, h.mintJWT)
	h.handle("PUT /admin/api/tenants/{tenant}/idp", admin.ManageCredentials, h.configureIdP)
	h.handle("DELETE /admin/api/tenants/{tenant}/idp", admin.ManageCredentials, h.disableIdP)

	h.handle("GET /admin/api/tenants/{tenant}/oauth-clients", admin.ManageCredentials, h.listClients)
	h.handle("POST /admin/api/tenants/{tenant}/oauth-clients", admin.ManageCredentials, h.createClient)
	h.handle("DELETE /admin/api/tenants/{tenant}/oauth-clients/{id}", admin.ManageCredentials, h.revokeClient)

	h.handle("GET /admin/api/tenants/{tenant}/users", admin.ReadDirectory, h.listResources(schema.UserResource))
	h.handle("GET /admin/api/tenants/{tenant}/users/{id}", admin.ReadDirectory, h.getResource(schema.UserResource))
	h.handle("GET /admin/api/tenants/{tenant}/groups", admin.ReadDirectory, h.listResources(schema.GroupResource))
	h.handle("GET /admin/api/tenants/{tenant}/groups/{id}", admin.ReadDirectory, h.getResource(schema.GroupResource))

	h.handle("GET /admin/api/tenants/{tenant}/history", admin.ReadHistory, h.history)
	h.handle("GET /admin/api/tenants/{tenant}/events", admin.ReadHistory, h.events)

	h.handle("GET /admin/api/tenants/{tenant}/webhooks", admin.ManageCredentials, h.listWebhooks)
	h.handle("POST /admin/api/tenants/{tenant}/webhooks", admin.ManageCredentials, h.createWebhook)
	h.handle("PATCH /admin/api/tenants/{tenant}/webhooks/{id}", admin.ManageCredentials, h.updateWebhook)
	h.handle("DELETE /admin/api/tenants/{tenant}/webhooks/{id}", admin.ManageCredentials, h.deleteWebhook)
	h.handle("GET /admin/api/tenants/{tenant}/webhooks/{id}/deliveries", admin.ReadHistory, h.deliveries)
	h.handle("POST /admin/api/tenants/{tenant}/webhooks/{id}/redeliver", admin.ManageCredentials, h.redeliver)

	h.handle("GET /admin/api/audit", admin.ReadHistory, h.listAudit)

	h.jobRoutes()

	h.handle("GET /admin/api/admins", admin.ManageAdmins, h.listAdmins)
	h.handle("POST /admin/api/admins", admin.ManageAdmins, h.createAdmin)
	h.handle("PATCH /admin/api/admins/{name}", admin.ManageAdmins, h.updateAdmin)
	h.handle("DELETE /admin/api/admins/{name}", admin.ManageAdmins, h.deleteAdmin)
	// Every admin may change their own password.
	h.handle("PUT /admin/api/me/password", admin.ReadTenants, h.changeOwnPassword)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	// Anyone may call this endpoint: its body gets a short deadline, so a
	// slow sender cannot hold the connection.
	done := guard.BodyDeadline(w, h.cfg.LoginBodyTimeout)
	err := decode(r, &body)
	if done(err) {
		h.log.Info("ADMIN-0408 sign-in body not received in time", "remote", guard.ClientOf(r).Addr)
		err = &apiError{http.StatusRequestTimeout, "request_timeout", "the request body did not arrive in time"}
	}
	if err == nil {
		var s admin.Session
		err = h.checkPassword(w, r, func() error {
			var lerr error
			s, lerr = h.admins.Login(r.Context(), body.Name, body.Password)
			return lerr
		})
		if err == nil {
			_ = writeJSON(w, http.StatusOK, map[string]any{"token": s.Token, "expires": s.Expires, "admin": admin.ViewOf(s.Admin)})
			return
		}
	}
	if errors.Is(err, admin.ErrUnauthorized) {
		err = &apiError{http.StatusUnauthorized, "unauthorized", "wrong name or password"}
	}
	h.fail(w, r, err)
}

func (h *Handler) logout(w http.ResponseWriter, c *call) error {
	if err := h.admins.Logout(c.Context(), bearerToken(c.Request)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) me(w http.ResponseWriter, c *call) error {
	return writeJSON(w, http.StatusOK, admin.ViewOf(c.admin))
}

func (h *Handler) listTenants(w http.ResponseWriter, c *call) error {
	ts, err := h.tenants.List(c.Context())
	if err != nil {
		return err
	}
	out := make([]tenant.TenantView, 0, len(ts))
	for _, t := range ts {
		out = append(out, tenant.ViewTenant(t, c.urls))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
}

func (h *Handler) createTenant(w http.ResponseWriter, c *call) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	t, err := h.tenants.Create(c.Context(), body.Name, c.actor())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/api/tenants/"+t.Name)
	return writeJSON(w, http.StatusCreated, tenant.ViewTenant(t, c.urls))
}

func (h *Handler) showTenant(w http.ResponseWriter, c *call) error {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenant.ViewTenant(t, c.urls))
}

func (h *Handler) updateTenant(w http.ResponseWriter, c *call) error {
	var body struct {
		SCIMEnabled    *bool    `json:"scim_enabled"`
		RateLimit      *float64 `json:"rate_limit"`
		HistoryActor   *string  `json:"history_actor"`
		StorePasswords *string  `json:"store_passwords"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	name := c.PathValue("tenant")
	t, err := h.tenants.Get(c.Context(), name)
	if err != nil {
		return err
	}
	if body.SCIMEnabled != nil {
		if t, err = h.tenants.SetSCIMEnabled(c.Context(), name, *body.SCIMEnabled, c.actor()); err != nil {
			return err
		}
	}
	if body.RateLimit != nil {
		if t, err = h.tenants.SetRateLimit(c.Context(), name, *body.RateLimit, c.actor()); err != nil {
			return err
		}
	}
	if body.HistoryActor != nil {
		if t, err = h.tenants.SetHistoryActor(c.Context(), name, *body.HistoryActor, c.actor()); err != nil {
			return err
		}
	}
	if body.StorePasswords != nil {
		if t, err = h.tenants.SetStorePasswords(c.Context(), name, *body.StorePasswords, c.actor()); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, tenant.ViewTenant(t, c.urls))
}

func (h *Handler) deleteTenant(w http.ResponseWriter, c *call) error {
	name := c.PathValue("tenant")
	if err := h.tenants.Delete(c.Context(), name, c.URL.Query().Get("confirm"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listTokens(w http.ResponseWriter, c *call) error {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	toks, err := h.tenants.ListTokens(c.Context(), t.Name)
	if err != nil {
		return err
	}
	out := make([]tenant.TokenView, 0, len(toks))
	for _, tok := range toks {
		out = append(out, tenant.ViewToken(t, tok, c.urls, ""))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

func (h *Handler) issueToken(w http.ResponseWriter, c *call) error {
	var body struct {
		Label     string `json:"label"`
		ExpiresIn string `json:"expires_in"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	exp, err := expiry(body.ExpiresIn, body.ExpiresAt, time.Now())
	if err != nil {
		return err
	}
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	iss, err := h.tenants.IssueToken(c.Context(), t.Name, tenant.TokenRequest{Label: body.Label, CreatedBy: c.actor(), Expires: exp})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, tenant.ViewToken(t, iss.Token, c.urls, iss.Plaintext))
}

func (h *Handler) revokeToken(w http.ResponseWriter, c *call) error {
	if err := h.tenants.RevokeToken(c.Context(), c.PathValue("tenant"), c.PathValue("id"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// jwtBody is how JWT settings are given; the HS256 secret is base64url.
type jwtBody struct {
	Algorithm    string `json:"alg"`
	Issuer       string `json:"iss"`
	Audience     string `json:"aud"`
	PublicKeyPEM string `json:"public_key_pem"`
	Secret       string `json:"secret"`
}

func (h *Handler) showJWT(w http.ResponseWriter, c *call) error {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	v := tenant.ViewTenant(t, c.urls).JWT
	if v == nil {
		return &apiError{http.StatusNotFound, "not_found", "tenant " + t.Name + " has no JWT settings"}
	}
	if isTrue(c.URL.Query().Get("reveal")) && len(t.Settings.JWT.Secret) > 0 {
		secret, err := h.tenants.RevealJWTSecret(c.Context(), t.Name, c.actor())
		if err != nil {
			return err
		}
		v.Secret = base64.RawURLEncoding.EncodeToString(secret)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (h *Handler) configureJWT(w http.ResponseWriter, c *call) error {
	var body jwtBody
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	cfg := store.JWTSettings{Algorithm: body.Algorithm, Issuer: body.Issuer, Audience: body.Audience, PublicKeyPEM: body.PublicKeyPEM}
	if body.Secret != "" {
		secret, err := base64.RawURLEncoding.DecodeString(body.Secret)
		if err != nil {
			return badRequest("secret must be base64url without padding")
		}
		cfg.Secret = secret
	}
	t, err := h.tenants.ConfigureJWT(c.Context(), c.PathValue("tenant"), cfg, c.actor())
	if err != nil {
		return err
	}
	v := tenant.ViewTenant(t, c.urls).JWT
	if body.Secret == "" && len(t.Settings.JWT.Secret) > 0 {
		// A generated secret is shown once, now.
		v.Secret = base64.RawURLEncoding.EncodeToString(t.Settings.JWT.Secret)
	}
	return writeJSON(w, http.StatusOK, v)
}

func (h *Handler) disableJWT(w http.ResponseWriter, c *call) error {
	if _, err := h.tenants.DisableJWT(c.Context(), c.PathValue("tenant"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) mintJWT(w http.ResponseWriter, c *call) error {
	var body struct {
		ExpiresIn string `json:"expires_in"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	var ttl time.Duration
	if body.ExpiresIn != "" {
		var err error
		if ttl, err = time.ParseDuration(body.ExpiresIn); err != nil || ttl <= 0 {
			return badRequest("expires_in must be a positive duration such as \"720h\"")
		}
	}
	name := c.PathValue("tenant")
	tok, exp, err := h.tenants.MintJWT(c.Context(), name, ttl, c.actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{
		"tenant": name, "tenant_url": c.urls.TenantURL(name), "shared_url": c.urls.SCIM(), "token": tok, "expires": exp,
	})
}

func (h *Handler) configureIdP(w http.ResponseWriter, c *call) error {
	var body tenant.IdPView
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	cfg := store.IdPSettings{Issuer: body.Issuer, Audience: body.Audience, JWKSURL: body.JWKSURL, PublicKeyPEM: body.PublicKeyPEM}
	t, err := h.tenants.ConfigureIdP(c.Context(), c.PathValue("tenant"), cfg, c.actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tenant.ViewTenant(t, c.urls).IdP)
}

func (h *Handler) disableIdP(w http.ResponseWriter, c *call) error {
	if _, err := h.tenants.DisableIdP(c.Context(), c.PathValue("tenant"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listClients(w http.ResponseWriter, c *call) error {
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	cs, err := h.tenants.ListOAuthClients(c.Context(), t.Name)
	if err != nil {
		return err
	}
	out := make([]tenant.OAuthClientView, 0, len(cs))
	for _, cl := range cs {
		out = append(out, tenant.ViewOAuthClient(t, cl, c.urls, ""))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"oauth_clients": out})
}

func (h *Handler) createClient(w http.ResponseWriter, c *call) error {
	var body struct {
		Label string `json:"label"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	t, err := h.tenants.Get(c.Context(), c.PathValue("tenant"))
	if err != nil {
		return err
	}
	cl, secret, err := h.tenants.CreateOAuthClient(c.Context(), t.Name, body.Label, c.actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, tenant.ViewOAuthClient(t, cl, c.urls, secret))
}

func (h *Handler) revokeClient(w http.ResponseWriter, c *call) error {
	if err := h.tenants.RevokeOAuthClient(c.Context(), c.PathValue("tenant"), c.PathValue("id"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) listAudit(w http.ResponseWriter, c *call) error {
	q := c.URL.Query()
	after, err := intParam(q.Get("after"), 0)
	if err != nil {
		return err
	}
	limit, err := intParam(q.Get("limit"), 100)
	if err != nil {
		return err
	}
	events, err := h.audit.List(c.Context(), store.AuditQuery{Tenant: q.Get("tenant"), After: int64(after), Limit: min(limit, 1000)})
	if err != nil {
		return err
	}
	next := int64(after)
	if len(events) > 0 {
		next = events[len(events)-1].Seq
	}
	if events == nil {
		events = []store.AuditEvent{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"events": events, "next": next})
}

func (h *Handler) listAdmins(w http.ResponseWriter, c *call) error {
	as, err := h.admins.List(c.Context())
	if err != nil {
		return err
	}
	out := make([]admin.View, 0, len(as))
	for _, a := range as {
		out = append(out, admin.ViewOf(a))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"admins": out})
}

func (h *Handler) createAdmin(w http.ResponseWriter, c *call) error {
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		Role     string `json:"role"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	a, err := h.admins.Create(c.Context(), body.Name, body.Password, body.Role, c.actor())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, admin.ViewOf(a))
}

func (h *Handler) updateAdmin(w http.ResponseWriter, c *call) error {
	var body struct {
		Password *string `json:"password"`
		Role     *string `json:"role"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	name := c.PathValue("name")
	if body.Role != nil {
		if err := h.admins.SetRole(c.Context(), name, *body.Role, c.actor()); err != nil {
			return err
		}
	}
	if body.Password != nil {
		if err := h.admins.SetPassword(c.Context(), name, *body.Password, c.actor()); err != nil {
			return err
		}
	}
	a, err := h.admins.Get(c.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, admin.ViewOf(a))
}

func (h *Handler) deleteAdmin(w http.ResponseWriter, c *call) error {
	if c.PathValue("name") == c.admin.Name {
		return badRequest("an admin cannot delete themselves")
	}
	if err := h.admins.Delete(c.Context(), c.PathValue("name"), c.actor()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changeOwnPassword asks for the current password as well as the new one,
// so that whoever holds a session (a stolen token, an unlocked browser)
// cannot lock its admin out. A wrong current password counts as a failed
// sign-in and gets 403 rather than 401, which would suggest the session had
// ended.
func (h *Handler) changeOwnPassword(w http.ResponseWriter, c *call) error {
	var body struct {
		CurrentPassword string `json:"current_password"`
		Password        string `json:"password"`
	}
	if err := decode(c.Request, &body); err != nil {
		return err
	}
	if body.CurrentPassword == "" {
		return badRequest("current_password is required to change your own password")
	}
	err := h.checkPassword(w, c.Request, func() error {
		return h.admins.ChangePassword(c.Context(), c.admin.Name, body.CurrentPassword, body.Password)
	})
	if errors.Is(err, admin.ErrUnauthorized) {
		return &apiError{http.StatusForbidden, "wrong_password", "current_password is wrong"}
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("%q is not a whole number", s)
	}
	return n, nil
}

// bearerToken returns the session token of a Bearer Authorization header.
func bearerToken(r *http.Request) string {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
