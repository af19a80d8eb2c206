// Package guard holds the abuse limits and reverse-proxy awareness that every
// Roster HTTP endpoint shares.
//
// A SCIM endpoint is reachable by anyone who can reach the server, and its
// bearer tokens are the only thing standing between the internet and a
// tenant's directory. Guard supplies three defences:
//
//   - [FailureLimiter] counts failed authentications, once keyed by client
//     address (one host guessing tokens) and once keyed by tenant (many hosts
//     guessing one tenant's tokens), and blocks a key that fails too often.
//     Before a costly check (an admin password), [FailureLimiter.Reserve]
//     holds a failure back, so concurrent guesses cannot outrun the budget.
//   - [RateLimiter] caps requests per tenant at the tenant's own rate, so one
//     noisy identity provider cannot starve the others.
//   - [Proxies] says which peers are trusted reverse proxies, so the client
//     address the limits are keyed on is the real client and not the load
//     balancer — and so that a client cannot pick its own address by sending
//     X-Forwarded-For itself.
//
// Both limiters keep a bounded number of keys, so an attack from many
// addresses costs a fixed amount of memory, and take the current time as an
// argument so that tests need no sleeping.
package guard
