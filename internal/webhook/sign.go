package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names (https://www.standardwebhooks.com).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every secret NewSecret makes, as Standard Webhooks
// recommends; the rest is the base64 of the HMAC key.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock for Verify to accept it, as in the Standard Webhooks
// reference libraries.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns, wrapped.
var (
	ErrMissingHeaders   = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp = errors.New("webhook: timestamp outside the tolerance")
	ErrInvalidSignature = errors.New("webhook: no matching signature")
	ErrInvalidSecret    = errors.New("webhook: invalid secret")
)

// NewSecret returns a new signing secret: "whsec_" followed by the
// standard base64 of 32 random bytes.
func NewSecret() (string, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("new webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key[:]), nil
}

// secretKey returns the HMAC key of a secret: the decoded bytes after the
// "whsec_" prefix (a secret without the prefix is decoded whole, as the
// reference libraries do).
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

// Sign returns the webhook-signature header value of a message per
// Standard Webhooks: "v1," followed by the base64 of
// HMAC-SHA256(key, msgID + "." + unix seconds of ts + "." + body).
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, ts.Unix(), body)), nil
}

func mac(key []byte, msgID string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received message the way a receiver should: the
// webhook-id, webhook-timestamp and webhook-signature headers must be
// present, the timestamp within tolerance of now in either direction
// (which bounds how long a captured request can be replayed; 0 means
// DefaultTolerance), and one of the space-separated "v1,…" signatures must
// match body under secret (compared in constant time).
//
// Delivery is at least once: a message can arrive again after the receiver
// processed it (say its 2xx response was lost), with the same webhook-id
// and body but a new timestamp and signature. Receivers should therefore
// remember the webhook-ids they processed (for longer than the tolerance)
// and acknowledge a repeated one without processing it again; the events
// inside also carry unique ids.
func Verify(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not unix seconds", ErrInvalidTimestamp, tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s off", ErrInvalidTimestamp, d.Round(time.Second))
	}
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	want := mac(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrInvalidSignature
}
