package credential

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"
)

// cheapHash returns an argon2id PHC hash of password with the given
// parameters, so that tests need not pay for the real ones.
func cheapHash(password string, m, t uint32, p uint8) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, t, m, p, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func TestHashPassword(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery staple"
	start := time.Now()
	h1, err := HashPassword(pw)
	require.NoError(t, err)
	h2, err := HashPassword(pw)
	require.NoError(t, err)
	t.Logf("two hashes with the real parameters took %v", time.Since(start))

	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$`)
	require.Regexp(t, re, h1)
	require.NotEqual(t, h1, h2, "salts must differ")

	ok, err := CheckPassword(t.Context(), h1, pw)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = CheckPassword(t.Context(), h1, pw+"!")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestHashPasswordRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, password, msg string
	}{
		{"Empty", "", "empty"},
		{"TooLong", strings.Repeat("a", MaxPasswordBytes+1), "longer than 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := HashPassword(tc.password)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	const pw = "hunter2hunter2"
	for _, tc := range []struct {
		name, encoded, password string
		want                    bool
	}{
		{"Match", cheapHash(pw, 64, 1, 1), pw, true},
		{"Wrong", cheapHash(pw, 64, 1, 1), "hunter3hunter3", false},
		{"Empty", cheapHash(pw, 64, 1, 1), "", false},
		{"CaseMatters", cheapHash(pw, 64, 1, 1), strings.ToUpper(pw), false},
		// Parameters come from the stored hash, so they can change.
		{"OtherParams", cheapHash(pw, 256, 3, 2), pw, true},
		{"OtherParamsWrong", cheapHash(pw, 256, 3, 2), "x", false},
		{"OverlongPassword", cheapHash(pw, 64, 1, 1), strings.Repeat("a", MaxPasswordBytes+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := CheckPassword(t.Context(), tc.encoded, tc.password)
			require.NoError(t, err)
			require.Equal(t, tc.want, ok)
		})
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	t.Parallel()
	good := cheapHash("pw", 64, 1, 1)
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	b64 := base64.RawStdEncoding.EncodeToString
	for _, tc := range []struct {
		name, encoded, msg string
	}{
		{"Empty", "", "want $argon2id"},
		{"Bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "want $argon2id"},
		{"TooFewParts", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ", "want $argon2id"},
		{"TooManyParts", good + "$x", "want $argon2id"},
		{"LeadingText", "x" + good, "want $argon2id"},
		{"Argon2i", with(1, "argon2i"), "not argon2id"},
		{"Version16", with(2, "v=16"), "not v=19"},
		{"NoVersion", with(2, "m=64,t=1,p=1"), "not v=19"},
		{"ParamOrder", with(3, "t=1,m=64,p=1"), "not m="},
		{"ParamMissing", with(3, "m=64,t=1"), "not m="},
		{"ParamExtra", with(3, "m=64,t=1,p=1,k=2"), "not m="},
		{"ParamNotNumber", with(3, "m=x,t=1,p=1"), "not m="},
		{"ParamNegative", with(3, "m=-64,t=1,p=1"), "not m="},
		{"ParamPlus", with(3, "m=+64,t=1,p=1"), "not m="},
		{"ParamLeadingZero", with(3, "m=064,t=1,p=1"), "not m="},
		{"ParamSpace", with(3, "m=64, t=1,p=1"), "not m="},
		{"ParamOverflow", with(3, "m=99999999999999999999,t=1,p=1"), "not m="},
		{"ZeroTime", with(3, "m=64,t=0,p=1"), "t=0 is outside"},
		{"ZeroThreads", with(3, "m=64,t=1,p=0"), "p=0 is outside"},
		{"TooManyThreads", with(3, "m=1024,t=1,p=17"), "p=17 is outside"},
		{"TooLittleMemory", with(3, "m=7,t=1,p=1"), "m=7 is outside"},
		{"TooLittleMemoryForThreads", with(3, "m=15,t=1,p=2"), "m=15 is outside"},
		{"OneGiB", with(3, "m=1048576,t=1,p=1"), "m=1048576 is outside"},
		{"MaxUint32Memory", with(3, "m=4294967295,t=1,p=1"), "is outside"},
		{"TooManyPasses", with(3, "m=64,t=17,p=1"), "t=17 is outside"},
		{"TooMuchWork", with(3, "m=65536,t=4,p=1"), "more work"},
		{"SaltNotBase64", with(4, "!!!!!!!!!!!"), "salt"},
		{"SaltPadded", with(4, b64([]byte("0123456789abcdef"))+"=="), "salt"},
		{"SaltTooShort", with(4, b64([]byte("1234567"))), "salt is 7 bytes"},
		{"SaltTooLong", with(4, b64(make([]byte, 65))), "salt is 65 bytes"},
		{"KeyNotBase64", with(5, "*"), "key"},
		{"KeyURLAlphabet", with(5, strings.Repeat("_", 43)), "key"},
		{"KeyTooShort", with(5, b64(make([]byte, 15))), "key is 15 bytes"},
		{"KeyTooLong", with(5, b64(make([]byte, 65))), "key is 65 bytes"},
		{"Huge", good + strings.Repeat("A", 1000), "bytes long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			ok, err := CheckPassword(t.Context(), tc.encoded, "pw")
			require.ErrorIs(t, err, ErrMalformedHash)
			require.ErrorContains(t, err, tc.msg)
			require.False(t, ok)
			require.Less(t, time.Since(start), time.Second)
		})
	}
}

// TestCheckPasswordLimits checks that the most expensive parameters
// accepted still make a check quick.
func TestCheckPasswordLimits(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("allocates 64 MiB")
	}
	enc := cheapHash("pw", 8, 1, 1)
	enc = strings.Replace(enc, "m=8,t=1,p=1", fmt.Sprintf("m=%d,t=%d,p=1", maxArgonMemory, maxArgonWork/maxArgonMemory), 1)
	start := time.Now()
	ok, err := CheckPassword(t.Context(), enc, "pw")
	require.NoError(t, err)
	require.False(t, ok)
	t.Logf("the most expensive accepted parameters took %v", time.Since(start))
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, password, msg string
	}{
		{"Empty", "", "at least 12 characters long, not 0"},
		{"Eleven", "abcdefghijk", "at least 12 characters long, not 11"},
		{"Twelve", "abcdefghijkl", ""},
		{"TwelveMultibyte", "äöüßäöüßäöüß", ""},
		{"ElevenMultibyte", "äöüßäöüßäöü", "at least 12 characters"},
		{"MaxBytes", strings.Repeat("a", 1024), ""},
		{"TooManyBytes", strings.Repeat("a", 1025), "at most 1024 bytes long, not 1025"},
		{"TooManyBytesMultibyte", strings.Repeat("ä", 513), "at most 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidatePassword(tc.password)
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

// TestCheckPasswordSlots shows that password checks run at most
// PasswordSlots at a time in the process, and that a check which cannot get
// a slot gives up instead of waiting for ever.
func TestCheckPasswordSlots(t *testing.T) {
	t.Parallel()
	const pw = "hunter2hunter2"
	encoded := cheapHash(pw, 64, 1, 1)
	for _, tc := range []struct {
		name    string
		hold    bool // take every slot first
		cancel  bool // the caller gives up at once
		wantErr error
	}{
		{name: "SlotFree"},
		{name: "Busy", hold: true, wantErr: ErrBusy},
		{name: "CallerGone", hold: true, cancel: true, wantErr: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A pool of its own: holding the process-wide slots for
			// PasswordWait made the package's parallel tests get ErrBusy.
			slots := make(chan struct{}, PasswordSlots)
			if tc.hold {
				for range PasswordSlots {
					slots <- struct{}{}
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			if tc.cancel {
				cancel()
			}
			defer cancel()
			start := time.Now()
			ok, err := checkPassword(ctx, slots, encoded, pw)
			if tc.wantErr == nil {
				require.NoError(t, err)
				require.True(t, ok)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.False(t, ok)
			if !tc.cancel {
				require.GreaterOrEqual(t, time.Since(start), PasswordWait)
			}
		})
	}

	// Many checks at once: never more than PasswordSlots computations.
	heavier := cheapHash(pw, 4096, 1, 1)
	var wg sync.WaitGroup
	errs := make(chan error, 10*PasswordSlots)
	for range 10 * PasswordSlots {
		wg.Go(func() {
			ok, err := CheckPassword(context.Background(), heavier, pw)
			if err == nil && !ok {
				err = errors.New("the right password did not match")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, peak := PasswordWork()
	require.GreaterOrEqual(t, peak, 1)
	require.LessOrEqual(t, peak, PasswordSlots)
}
