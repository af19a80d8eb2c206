// Package password keeps the User attribute "password" the way RFC 7643
// §4.1.1 asks of a service provider that holds it: "the value SHOULD be
// hashed". Hash turns a client's clear text into a salted argon2id hash in
// PHC string format, the only form Roster stores; IsHash tells the stored
// form from clear text; Check verifies a password against it, for an
// application that embeds Roster and signs its users in.
//
// The parameters are chosen for a SCIM create, not for a sign-in: see
// Params. Hashing runs outside any store transaction, at most
// runtime.GOMAXPROCS(0) at a time, so that a burst of creates with
// passwords neither holds the database writer nor allocates
// 7 MiB for every request in flight.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new hashes: 7 MiB of memory, 5 passes, 1 lane,
// a 16-byte salt and a 32-byte key. This is the lowest-memory setting of
// the OWASP Password Storage Cheat Sheet, as strong against guessing as
// the 19 MiB, 2 passes Roster uses for admin passwords, for the same CPU
// (about 25-35 ms on one core of the CI machine) and a third of the
// memory, which matters when an identity provider creates users in
// parallel. The parameters are stored in each hash, so they can be raised
// later without invalidating stored hashes.
const (
	memory  = 7 * 1024 // KiB
	passes  = 5
	lanes   = 1
	saltLen = 16
	keyLen  = 32
)

// MaxBytes is the longest password Hash accepts, in bytes of UTF-8.
const MaxBytes = 1024

// Bounds on the parameters Check and IsHash accept from a stored hash, so
// that a tampered database cannot make a check allocate gigabytes.
const (
	maxMemory  = 64 * 1024 // KiB
	maxPasses  = 16
	maxLanes   = 16
	maxWork    = 3 * maxMemory // memory (KiB) × passes
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

const prefix = "$argon2id$"

// slots bounds the hashes computed at once. A hash is CPU-bound, so more
// than one per core only adds memory and latency.
var slots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// Hash returns the argon2id hash of clear in PHC string format:
//
//	$argon2id$v=19$m=7168,t=5,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64. It waits for a free slot
// (see the package documentation) unless ctx ends first. An empty password
// or one longer than MaxBytes is refused.
func Hash(ctx context.Context, clear string) (string, error) {
	if clear == "" {
		return "", errors.New("hash password: password is empty")
	}
	if len(clear) > MaxBytes {
		return "", fmt.Errorf("hash password: password is longer than %d bytes", MaxBytes)
	}
	return hash(ctx, clear)
}

// hash is Hash without the limit on the length, which a request must
// observe but a migration of what is already stored cannot.
func hash(ctx context.Context, clear string) (string, error) {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("hash password: %w", context.Cause(ctx))
	}
	defer func() { <-slots }()
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(clear), salt, passes, memory, lanes, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", prefix,
		argon2.Version, memory, passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// IsHash reports whether s is in the form Hash returns, with parameters
// within the bounds Check accepts.
func IsHash(s string) bool {
	_, _, _, err := parse(s)
	return err == nil
}

// Check reports whether clear is the password hashed in stored. The
// comparison takes constant time. The error is for a stored value that is
// not a hash IsHash accepts; a wrong password is false with a nil error.
func Check(stored, clear string) (bool, error) {
	p, salt, key, err := parse(stored)
	if err != nil {
		return false, err
	}
	if len(clear) > MaxBytes {
		return false, nil // Hash never hashes such a password
	}
	got := argon2.IDKey([]byte(clear), salt, p.passes, p.memory, p.lanes, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

type params struct {
	memory, passes uint32
	lanes          uint8
}

// parse reads a hash in PHC string format and checks its parameters.
func parse(s string) (p params, salt, key []byte, err error) {
	bad := func(format string, args ...any) (params, []byte, []byte, error) {
		return params{}, nil, nil, fmt.Errorf("not a password hash: "+format, args...)
	}
	if len(s) > 512 || !strings.HasPrefix(s, prefix) {
		return bad("want %sv=19$m=…,t=…,p=…$salt$key", prefix)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("want %sv=%d$m=…,t=…,p=…$salt$key", prefix, argon2.Version)
	}
	var m, t, l uint64
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &l); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, l) {
		return bad("parameters %q are not m=…,t=…,p=…", parts[3])
	}
	if l < 1 || l > maxLanes || m < 8*l || m > maxMemory || t < 1 || t > maxPasses || m*t > maxWork {
		return bad("parameters %q are out of bounds", parts[3])
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return bad("salt of %d bytes (%v)", len(salt), err)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return bad("key of %d bytes (%v)", len(key), err)
	}
	return params{memory: uint32(m), passes: uint32(t), lanes: uint8(l)}, salt, key, nil
}

// HashAll hashes every password of clears, as many at once as Hash allows,
// and returns the hashes in the same order; for a migration that hashes
// the passwords an older release stored in clear text, which may be longer
// than MaxBytes. An empty password hashes to "".
func HashAll(ctx context.Context, clears []string) ([]string, error) {
	out := make([]string, len(clears))
	errs := make([]error, len(clears))
	next := make(chan int)
	var wg sync.WaitGroup
	for range cap(slots) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if clears[i] != "" {
					out[i], errs[i] = hash(ctx, clears[i])
				}
			}
		}()
	}
	for i := range clears {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
