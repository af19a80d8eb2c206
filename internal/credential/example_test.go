package credential_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/store"
)

// Microsoft Entra ID provisioning to a non-gallery app sends a bearer token
// issued by the Entra tenant (v1 issuer) for the fixed audience
// 8adf8e6e-67b2-4cf2-a259-e3dc5476c621. Here a test server stands in for
// https://login.microsoftonline.com/<tenant>/discovery/keys.
func ExampleVerifier_VerifyIdP_entra() {
	const (
		entraTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		issuer      = "https://sts.windows.net/" + entraTenant + "/"
		audience    = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621"
	)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwk, _ := jwkset.NewJWKFromKey(&key.PublicKey, jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{KID: "nOo3ZDrODXEK1jKWhXslHR_KXEg", USE: jwkset.UseSig},
	})
	jwks, _ := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{jwk.Marshal()}})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(jwks)
	}))
	defer idp.Close()

	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"aud":   audience,
		"iss":   issuer,
		"iat":   now.Add(-5 * time.Minute).Unix(),
		"nbf":   now.Add(-5 * time.Minute).Unix(),
		"exp":   now.Add(55 * time.Minute).Unix(),
		"appid": "00000014-0000-0000-c000-000000000000",
		"oid":   "c1d4e1a3-5b0e-4a8e-9f2b-1f6b0f3c2d7e",
		"sub":   "c1d4e1a3-5b0e-4a8e-9f2b-1f6b0f3c2d7e",
		"tid":   entraTenant,
		"ver":   "1.0",
	})
	tok.Header["kid"] = "nOo3ZDrODXEK1jKWhXslHR_KXEg"
	raw, _ := tok.SignedString(key)

	settings := store.IdPSettings{Issuer: issuer, Audience: audience, JWKSURL: idp.URL}
	if err := credential.ValidateIdPSettings(settings); err != nil {
		fmt.Println(err)
		return
	}
	v := credential.NewVerifier(nil)
	defer v.Close()
	c, err := v.VerifyIdP(context.Background(), raw, settings, now)
	fmt.Println(c.Issuer, c.Audience, err)

	// An app registration that asks for v2.0 tokens gets another issuer,
	// which the settings must name instead.
	v2 := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"aud": audience,
		"iss": "https://login.microsoftonline.com/" + entraTenant + "/v2.0",
		"exp": now.Add(time.Hour).Unix(),
	})
	v2.Header["kid"] = "nOo3ZDrODXEK1jKWhXslHR_KXEg"
	raw, _ = v2.SignedString(key)
	_, err = v.VerifyIdP(context.Background(), raw, settings, now)
	fmt.Println(errors.Is(err, credential.ErrInvalidJWT), errors.Is(err, jwt.ErrTokenInvalidIssuer))
	// Output:
	// https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/ [8adf8e6e-67b2-4cf2-a259-e3dc5476c621] <nil>
	// true true
}

func ExampleNewSecretToken() {
	id, token := credential.NewSecretToken()
	// Store id and credential.Hash(token); show token once.
	fmt.Println(credential.TokenID(token) == id, len(token))
	// Output: true 67
}
