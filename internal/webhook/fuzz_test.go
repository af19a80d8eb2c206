package webhook

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify: it must never
// panic, and must accept only what Sign produced for the same message.
func FuzzVerify(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1764676800, 0)
	good, _ := Sign(secret, "msg_1", now, []byte(`{"events":[]}`))
	f.Add("msg_1", strconv.FormatInt(now.Unix(), 10), good, []byte(`{"events":[]}`))
	f.Add("msg_1", "1764676800", "v1,AAAA v1a,BBBB", []byte(`x`))
	f.Add("", "-1", "v1,", []byte(nil))
	f.Add("msg", "99999999999999999999", "v2,abc", []byte(`{}`))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		err := Verify(secret, h, body, DefaultTolerance, now)
		if err != nil {
			return
		}
		// Accepted: it must be a signature Sign makes for this message.
		sec, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil {
			t.Fatalf("accepted a non-numeric timestamp %q", ts)
		}
		want, _ := Sign(secret, id, time.Unix(sec, 0), body)
		if !containsSig(sig, want) {
			t.Fatalf("accepted signature %q for a message whose signature is %q", sig, want)
		}
	})
}

func containsSig(header, want string) bool {
	for i := 0; i+len(want) <= len(header); i++ {
		if header[i:i+len(want)] == want && (i == 0 || header[i-1] == ' ') && (i+len(want) == len(header) || header[i+len(want)] == ' ') {
			return true
		}
	}
	return false
}
