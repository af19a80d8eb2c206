package credential

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store"
)

func jwtSeeds(f *testing.F) {
	tok, err := MintHS256(NewHS256Secret(), MintOptions{Tenant: "acme", Issuer: "i", Audience: "a", Subject: "s"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"", ".", "..", "...", tok, tok + ".", strings.ReplaceAll(tok, ".", ""),
		b64URL(`{"alg":"none"}`) + ".e30.",
		b64URL(`{"alg":"RS256"}`) + "." + b64URL(`{"aud":["a",1],"exp":"x"}`) + ".c2ln",
		b64URL(`{"alg":"HS256"}`) + "." + b64URL(`{"exp":1e400,"nbf":-1,"iat":null,"tenant":{}}`) + ".c2ln",
		b64URL(`{"alg":1}`) + ".e30.c2ln",
		"roster_0123456789abcdef_c2VjcmV0",
	} {
		f.Add(s)
	}
}

func FuzzPeekClaims(f *testing.F) {
	jwtSeeds(f)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := PeekClaims(raw)
		if err != nil {
			if c.Issuer != "" || c.Tenant != "" || c.Audience != nil {
				t.Fatalf("claims %+v returned with error %v", c, err)
			}
			return
		}
		if len(raw) > MaxJWTLength {
			t.Fatalf("accepted a %d-byte token", len(raw))
		}
		if strings.Count(raw, ".") != 2 {
			t.Fatalf("accepted %q without three segments", raw)
		}
	})
}

func FuzzLooksLikeJWT(f *testing.F) {
	jwtSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		if !LooksLikeJWT(s) {
			return
		}
		if strings.Count(s, ".") != 2 || strings.ContainsAny(s, "=+/ \n") {
			t.Fatalf("%q is not three base64url segments", s)
		}
		if _, ok := headerAlg(s[:strings.IndexByte(s, '.')]); !ok {
			t.Fatalf("%q has no alg", s)
		}
	})
}

// FuzzVerifyJWT checks that no input makes verification panic, and that
// only the one token signed with the key verifies.
func FuzzVerifyJWT(f *testing.F) {
	jwtSeeds(f)
	secret := NewHS256Secret()
	tok, err := MintHS256(secret, MintOptions{Audience: "a", Now: testNow})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	v := NewVerifier(nil)
	f.Cleanup(v.Close)
	s := store.JWTSettings{Algorithm: HS256, Secret: secret, Audience: "a"}
	want, err := PeekClaims(tok)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.VerifyJWT(t.Context(), raw, s, testNow)
		if err == nil && !reflect.DeepEqual(c, want) {
			// Only the minted token, perhaps re-encoded, may verify.
			t.Fatalf("%q verified with claims %+v", raw, c)
		}
	})
}

func FuzzCheckPassword(f *testing.F) {
	good := cheapHash("pw", 64, 1, 1)
	for _, s := range []string{
		"", "$", "$argon2id$", good, good + "$",
		cheapHash("pw", 8, 1, 1), cheapHash("pw", 32, 2, 4),
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHQ",
		"$argon2id$v=19$m=4294967295,t=4294967295,p=255$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
	} {
		f.Add(s, "pw")
	}
	f.Fuzz(func(t *testing.T, encoded, password string) {
		start := time.Now()
		ok, err := CheckPassword(context.Background(), encoded, password)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("took %v", d)
		}
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
	})
}
