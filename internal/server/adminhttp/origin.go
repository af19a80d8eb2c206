package adminhttp

import (
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/internal/server/guard"
)

var (
	errCrossOrigin = &apiError{http.StatusForbidden, "cross_origin",
		"cross-origin requests may not change anything; send the request from the admin UI's own origin, or without browser headers"}
	errMediaType = &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type",
		"send the body as Content-Type: application/json"}
)

// stateChanging reports whether a request of this method may change
// something, and so must come from Roster's own origin.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// checkOrigin refuses a state-changing request that a browser sent on
// behalf of another site. A browser attaches cached Basic credentials (and,
// once the UI has them, session cookies) to any request a page makes to
// Roster, so without this check a page on any site could create an admin
// by POSTing a form (cross-site request forgery).
//
// The check follows Go's http.CrossOriginProtection, except that the
// request's host is the one the client asked for as resolved through
// trusted proxies (guard.ClientOf), so that it also holds behind a proxy
// that rewrites Host:
//
//   - Sec-Fetch-Site, which browsers have sent since 2023 and pages cannot
//     forge, decides when present: "same-origin" and "none" (a user typed
//     the URL) pass, "same-site" and "cross-site" are refused. A sibling
//     subdomain is same-site but may belong to someone else.
//   - Without it, an Origin header must name the host the request was sent
//     to ("null", sent by sandboxed pages and some redirects, is refused).
//   - A request with neither header was not sent by a browser's page (curl,
//     the CLI, scripts) and passes: it carries no ambient credentials.
func checkOrigin(r *http.Request) error {
	if !stateChanging(r.Method) {
		return nil
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		switch strings.ToLower(site) {
		case "same-origin", "none":
			return nil
		}
		return errCrossOrigin
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return errCrossOrigin
	}
	if !strings.EqualFold(hostPort(u.Host, u.Scheme), hostPort(guard.ClientOf(r).Host, u.Scheme)) {
		return errCrossOrigin
	}
	return nil
}

// hostPort drops the default port of scheme from host, so that
// "example.com:443" and "example.com" are the same https origin.
func hostPort(host, scheme string) string {
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	}
	return host
}

// checkJSON refuses a body that is not declared as JSON. A page can send
// text/plain, application/x-www-form-urlencoded and multipart/form-data
// across origins without asking (no CORS preflight), and with a body that
// is valid JSON; application/json it cannot.
func checkJSON(r *http.Request) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errMediaType
	}
	for k, v := range params {
		// JSON is UTF-8 (RFC 8259 §8.1); a charset is allowed only to say so.
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return errMediaType
		}
	}
	return nil
}
