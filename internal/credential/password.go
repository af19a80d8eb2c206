package credential

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length limits, checked by ValidatePassword.
const (
	MinPasswordChars = 12   // characters (Unicode code points)
	MaxPasswordBytes = 1024 // bytes of UTF-8
)

// Argon2id parameters for new hashes: the OWASP Password Storage Cheat Sheet
// choice of 19 MiB, 2 passes and 1 lane, with a 16-byte salt and a 32-byte
// key. CheckPassword reads the parameters from the stored hash, so these can
// be raised without invalidating existing hashes.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Limits on the parameters CheckPassword accepts from a stored hash, so that
// a tampered or corrupt database cannot make a sign-in allocate gigabytes or
// run for minutes. They allow every OWASP setting and the RFC 9106 §4
// second recommended one (64 MiB, 3 passes), and cap the work per check,
// memory × passes, there: a few hundred milliseconds at most.
const (
	maxArgonMemory  = 64 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	maxArgonWork    = 3 * maxArgonMemory // memory (KiB) × passes
	minArgonSaltLen = 8
	maxArgonSaltLen = 64
	minArgonKeyLen  = 16
	maxArgonKeyLen  = 64
)

// Argon2id holds argonMemory for the whole of each computation, so the
// process runs at most PasswordSlots of them at once, whoever asks: without a
// bound, 400 concurrent wrong sign-ins took 7.7 GB. A check waits for a slot
// at most PasswordWait (or until its context ends), then gives up with
// ErrBusy, so a flood of sign-ins from many addresses queues for a bounded
// time instead of piling up.
const (
	PasswordSlots = 4
	PasswordWait  = 2 * time.Second
)

// ErrBusy means every password slot stayed taken for PasswordWait: too many
// password checks are in progress; retry in a moment.
var ErrBusy = errors.New("too many password checks in progress")

var (
	passwordSlots = make(chan struct{}, PasswordSlots)
	// argonRunning and argonPeak count argon2id computations in progress
	// and the most there have been at once; see PasswordWork.
	argonRunning, argonPeak atomic.Int64
)

// PasswordWork reports how many argon2id computations are running now and
// the most that have run at once since the process started, for monitoring
// and for tests that check the bound.
func PasswordWork() (running, peak int) {
	return int(argonRunning.Load()), int(argonPeak.Load())
}

// idKey is argon2.IDKey, counted by PasswordWork. The caller holds a slot.
func idKey(password, salt []byte, p argonParams, keyLen uint32) []byte {
	n := argonRunning.Add(1)
	defer argonRunning.Add(-1)
	for {
		old := argonPeak.Load()
		if n <= old || argonPeak.CompareAndSwap(old, n) {
			break
		}
	}
	return argon2.IDKey(password, salt, p.time, p.memory, p.threads, keyLen)
}

// ErrMalformedHash means a stored password hash cannot be parsed or has
// parameters outside the accepted limits.
var ErrMalformedHash = errors.New("malformed password hash")

// ValidatePassword checks that password is acceptable as a new admin
// password: at least MinPasswordChars characters and at most
// MaxPasswordBytes bytes.
func ValidatePassword(password string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordChars {
		return fmt.Errorf("password must be at least %d characters long, not %d", MinPasswordChars, n)
	}
	if len(password) > MaxPasswordBytes {
		return fmt.Errorf("password must be at most %d bytes long, not %d", MaxPasswordBytes, len(password))
	}
	return nil
}

// HashPassword returns the argon2id hash of password in PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64. It refuses only an empty
// password or one longer than MaxPasswordBytes; call ValidatePassword to
// apply the password policy.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("hash password: password is empty")
	}
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("hash password: password is longer than %d bytes", MaxPasswordBytes)
	}
	p := argonParams{memory: argonMemory, time: argonTime, threads: argonThreads}
	salt := randomBytes(argonSaltLen)
	// Hashing a new password is an admin's or operator's deliberate act,
	// never a stranger's, so it waits for a slot as long as it takes.
	passwordSlots <- struct{}{}
	key := idKey([]byte(password), salt, p, argonKeyLen)
	<-passwordSlots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches encoded, a hash made by
// HashPassword, possibly with other argon2id parameters. The comparison
// takes constant time. A wrong password is ok == false with a nil error.
// The error wraps ErrMalformedHash for an encoded hash that cannot be parsed
// or whose parameters are beyond sane limits, ErrBusy if no password slot
// came free within PasswordWait, or ctx's error if ctx ended first.
func CheckPassword(ctx context.Context, encoded, password string) (ok bool, err error) {
	return checkPassword(ctx, passwordSlots, encoded, password)
}

// checkPassword is CheckPassword with the slots it takes one from: tests
// that fill every slot use a pool of their own, so they never starve the
// package's other tests running in parallel.
func checkPassword(ctx context.Context, slots chan struct{}, encoded, password string) (ok bool, err error) {
	p, salt, key, err := parseArgon2id(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, nil // HashPassword never hashes such a password
	}
	if err := acquirePasswordSlot(ctx, slots); err != nil {
		return false, err
	}
	defer func() { <-slots }()
	got := idKey([]byte(password), salt, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// acquirePasswordSlot waits for a slot in slots for at most PasswordWait.
func acquirePasswordSlot(ctx context.Context, slots chan struct{}) error {
	select {
	case slots <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(PasswordWait)
	defer timer.Stop()
	select {
	case slots <- struct{}{}:
		return nil
	case <-timer.C:
		return fmt.Errorf("check password: %w", ErrBusy)
	case <-ctx.Done():
		return fmt.Errorf("check password: %w", ctx.Err())
	}
}

type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

func parseArgon2id(encoded string) (p argonParams, salt, key []byte, err error) {
	bad := func(format string, args ...any) (argonParams, []byte, []byte, error) {
		return argonParams{}, nil, nil, fmt.Errorf("%w: "+format, append([]any{ErrMalformedHash}, args...)...)
	}
	if len(encoded) > 512 {
		return bad("%d bytes long", len(encoded))
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$salt$key")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm %q is not argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version %q is not v=%d", parts[2], argon2.Version)
	}
	var m, t, th uint64
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, th) {
		return bad("parameters %q are not m=…,t=…,p=…", parts[3])
	}
	switch {
	case th < 1 || th > maxArgonThreads:
		return bad("p=%d is outside 1…%d", th, maxArgonThreads)
	case m < 8*th || m > maxArgonMemory:
		return bad("m=%d is outside %d…%d", m, 8*th, maxArgonMemory)
	case t < 1 || t > maxArgonTime:
		return bad("t=%d is outside 1…%d", t, maxArgonTime)
	case m*t > maxArgonWork:
		return bad("m=%d × t=%d is more work than %d", m, t, maxArgonWork)
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return bad("salt: %v", err)
	}
	if len(salt) < minArgonSaltLen || len(salt) > maxArgonSaltLen {
		return bad("salt is %d bytes, not %d…%d", len(salt), minArgonSaltLen, maxArgonSaltLen)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return bad("key: %v", err)
	}
	if len(key) < minArgonKeyLen || len(key) > maxArgonKeyLen {
		return bad("key is %d bytes, not %d…%d", len(key), minArgonKeyLen, maxArgonKeyLen)
	}
	return argonParams{memory: uint32(m), time: uint32(t), threads: uint8(th)}, salt, key, nil
}
