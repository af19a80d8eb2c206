package webhook

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	a, err := NewSecret()
	require.NoError(t, err)
	b, err := NewSecret()
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "whsec_"))
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	require.NoError(t, err)
	require.Len(t, key, 32)
}

// TestSignKnownVector checks Sign against the example of the Standard
// Webhooks specification and its reference libraries.
func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	sig, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	require.NoError(t, err)
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", sig)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret, err := NewSecret()
	require.NoError(t, err)
	other, err := NewSecret()
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"events":[{"id":"e1"}]}`)
	headers := func(secret string, id string, ts time.Time, body []byte) http.Header {
		sig, err := Sign(secret, id, ts, body)
		require.NoError(t, err)
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderSignature, sig)
		return h
	}

	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, Verify(secret, headers(secret, "msg_1", now, body), body, time.Minute, now))
	})
	t.Run("SeveralSignatures", func(t *testing.T) {
		t.Parallel()
		// During a secret rotation a sender may sign with both secrets.
		h := headers(secret, "msg_1", now, body)
		old := headers(other, "msg_1", now, body).Get(HeaderSignature)
		h.Set(HeaderSignature, "v2,ignored "+old+" "+h.Get(HeaderSignature))
		require.NoError(t, Verify(secret, h, body, time.Minute, now))
	})
	t.Run("TamperedBody", func(t *testing.T) {
		t.Parallel()
		h := headers(secret, "msg_1", now, body)
		require.ErrorIs(t, Verify(secret, h, []byte(`{"events":[{"id":"e2"}]}`), time.Minute, now), ErrInvalidSignature)
	})
	t.Run("TamperedID", func(t *testing.T) {
		t.Parallel()
		h := headers(secret, "msg_1", now, body)
		h.Set(HeaderID, "msg_2")
		require.ErrorIs(t, Verify(secret, h, body, time.Minute, now), ErrInvalidSignature)
	})
	t.Run("WrongSecret", func(t *testing.T) {
		t.Parallel()
		require.ErrorIs(t, Verify(other, headers(secret, "msg_1", now, body), body, time.Minute, now), ErrInvalidSignature)
	})
	t.Run("OldTimestamp", func(t *testing.T) {
		t.Parallel()
		// A replay of a captured request after the tolerance.
		h := headers(secret, "msg_1", now.Add(-6*time.Minute), body)
		require.ErrorIs(t, Verify(secret, h, body, 5*time.Minute, now), ErrInvalidTimestamp)
		require.NoError(t, Verify(secret, h, body, 10*time.Minute, now))
	})
	t.Run("FutureTimestamp", func(t *testing.T) {
		t.Parallel()
		h := headers(secret, "msg_1", now.Add(6*time.Minute), body)
		require.ErrorIs(t, Verify(secret, h, body, 0, now), ErrInvalidTimestamp)
	})
	t.Run("ChangedTimestamp", func(t *testing.T) {
		t.Parallel()
		h := headers(secret, "msg_1", now, body)
		h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
		require.ErrorIs(t, Verify(secret, h, body, time.Minute, now), ErrInvalidSignature)
	})
	t.Run("MissingHeaders", func(t *testing.T) {
		t.Parallel()
		for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
			h := headers(secret, "msg_1", now, body)
			h.Del(name)
			require.ErrorIs(t, Verify(secret, h, body, time.Minute, now), ErrMissingHeaders, name)
		}
	})
	t.Run("InvalidSecret", func(t *testing.T) {
		t.Parallel()
		_, err := Sign("whsec_not base64!", "msg_1", now, body)
		require.ErrorIs(t, err, ErrInvalidSecret)
	})
}
