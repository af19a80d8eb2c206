package tenant

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

// maxCachedAuths bounds the authentication cache. A deployment has a few
// live tokens per tenant, so this holds every one of thousands of tenants;
// past it, an arbitrary entry makes room, which costs at worst one more
// lookup for that token.
const maxCachedAuths = 10_000

// authKey is what the cache is keyed by: the SHA-256 of the bearer token,
// the form the database keeps too, so the cache never holds a token in the
// clear.
type authKey [sha256.Size]byte

// authEntry is a token found valid, apart from its expiry and the tenant of
// the URL, which depend on the request and are checked on every use: its
// secret matched, it was not revoked, nor was its OAuth client.
type authEntry struct {
	version   int64 // the credentials version the rows were read at
	tenant    store.Tenant
	principal Principal
	tokenID   string
	expires   time.Time // zero: never
}

// authCache remembers successful token authentications so that a request
// with a token seen before costs one read of the credentials version
// instead of the token, tenant and client rows. An entry is used only while
// the version read for the request equals the entry's, and the version
// changes in the transaction of every change of a token, an OAuth client or
// a tenant, whoever makes it (see store.TokenStore.CredentialsVersion):
// whatever a cached entry says, the database said at the version the
// request has just read. Failures are not cached.
type authCache struct {
	mu      sync.Mutex
	max     int   // 0 disables the cache
	version int64 // of every entry
	entries map[authKey]authEntry
}

func newAuthCache(max int) *authCache {
	return &authCache{max: max, entries: map[authKey]authEntry{}}
}

// get returns the entry for key, if any, whatever its version.
func (c *authCache) get(key authKey) (authEntry, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	return e, ok
}

// put caches e under key. Entries of another version are dropped first:
// they can never be used again, unless the version came back, which its
// random changes make as good as impossible.
func (c *authCache) put(key authKey, e authEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max <= 0 {
		return
	}
	if e.version != c.version {
		clear(c.entries)
		c.version = e.version
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = e
}

// drop forgets key, for a token found invalid.
func (c *authCache) drop(key authKey) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// len returns the number of entries, for tests.
func (c *authCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
