// Package scimclient is Roster's one outbound SCIM 2.0 client (RFC 7644):
// `roster validate`, `roster bench` and the provisioning engine send their
// requests through it. It imports only the standard library and the
// protocol core.
//
// A Client is bound to one Tenant URL and a bearer token (or a token source,
// or any http.RoundTripper for other schemes) and sends
// application/scim+json over one pooled http.Client, so connections are
// reused.
//
// Two levels:
//
//   - Do sends a Request with a raw or JSON body and returns the Response —
//     status, headers and body bytes, nothing decoded — whatever its status.
//     A conformance check that expects a 404 and a load generator that only
//     counts statuses use this. A body over Options.MaxResponseBytes is not
//     cut short: reading stops at the limit and Do returns an error that
//     wraps ErrResponseTooLarge and names the limit, method and URL.
//   - Create, Get, Put, Patch, Update, Delete, List, Search, Walk and All are typed
//     helpers for /Users and /Groups: a non-2xx status is returned as the
//     protocol core's *scimerr.Error (status, scimType, detail), decoded by
//     DecodeError even from an HTML or empty body. Walk and All page through
//     a list by startIndex and count, advancing by what each page really
//     held and trusting the latest totalResults. Without totalResults, a
//     server that caps count below what was asked is still paged to the
//     end: itemsPerPage, when present, tells a capped page from the last
//     one, and without it only an empty page ends the walk.
//
// Retries (RetryPolicy): a 429 is retried for any method after its
// Retry-After (seconds or HTTP-date); 5xx and errors without a response
// (timeouts, refused or reset connections) are retried with exponential
// backoff and jitter only for methods safe to repeat (GET, PUT, DELETE), as
// a repeated POST can create a duplicate. MaxAttempts and MaxDelay bound
// both; a Retry-After beyond MaxDelay is returned to the caller rather than
// waited for. NoRetry sends each request once.
//
// Capture: Options.Capture receives an Exchange for every attempt — method,
// URL, request and response headers, bodies cut at CaptureLimit, status,
// duration and attempt number — so a report can show what was sent and what
// came back. The value of every credential-bearing header, sent or received,
// is Redacted: Authorization, Proxy-Authorization, Cookie, Set-Cookie and
// any header whose name contains "token", "secret", "api-key" or "password"
// (see Sensitive).
//
// Dialects: a Dialect is data describing how an identity provider shapes
// requests, and the presets RFC, Entra, EntraSCIM062020 and Okta follow what
// Microsoft and Okta document: Entra's capitalised "Add"/"Replace"/"Remove",
// "True"/"False" strings and member removal by value array; Entra's
// aadOptscim062020 flag (read from the Tenant URL) with lower-case ops and
// plain replaces folded into one path-less value object; Okta's path-less
// value objects, PUT for updates and startIndex/count on every list. Patch
// takes dialect-neutral Ops and the dialect decides the wire form.
package scimclient
