package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/internal/store"
)

// JWT signing algorithms (RFC 7518 §3.1).
const (
	HS256 = "HS256"
	RS256 = "RS256"
	RS384 = "RS384"
	RS512 = "RS512"
	PS256 = "PS256"
	ES256 = "ES256"
	ES384 = "ES384"
)

// jwtAlgorithms are the algorithms store.JWTSettings may name.
var jwtAlgorithms = []string{HS256, RS256, ES256}

// idpAlgorithms are the algorithms accepted from an identity provider.
var idpAlgorithms = []string{RS256, RS384, RS512, PS256, ES256, ES384}

// RSA key sizes accepted, in bits. The upper bound keeps a hostile key from
// making each verification slow.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// ValidateJWTSettings checks settings for JWTs that Roster or the tenant's
// app signs: Algorithm is HS256, RS256 or ES256; HS256 has a Secret of at
// least MinHS256SecretLen bytes and no PublicKeyPEM; RS256 has the PEM of an
// RSA public key of at least 2048 bits and ES256 that of an EC P-256 public
// key, and neither has a Secret; Audience is set.
func ValidateJWTSettings(s store.JWTSettings) error {
	if s.Audience == "" {
		return errors.New("JWT settings: audience is required")
	}
	switch s.Algorithm {
	case HS256:
		if len(s.Secret) < MinHS256SecretLen {
			return fmt.Errorf("JWT settings: the HS256 secret is %d bytes, want at least %d", len(s.Secret), MinHS256SecretLen)
		}
		if s.PublicKeyPEM != "" {
			return errors.New("JWT settings: HS256 takes a secret, not a public key")
		}
		return nil
	case RS256, ES256:
		if len(s.Secret) > 0 {
			return fmt.Errorf("JWT settings: %s takes a public key, not a secret", s.Algorithm)
		}
		if s.PublicKeyPEM == "" {
			return fmt.Errorf("JWT settings: %s needs a public key PEM", s.Algorithm)
		}
		k, err := parsePublicKeyPEM(s.PublicKeyPEM)
		if err != nil {
			return fmt.Errorf("JWT settings: %w", err)
		}
		if !keyFits(s.Algorithm, k) {
			return fmt.Errorf("JWT settings: %s needs %s, not %s", s.Algorithm, keyWanted(s.Algorithm), describeKey(k))
		}
		return nil
	default:
		return fmt.Errorf("JWT settings: algorithm %q is not one of %s", s.Algorithm, strings.Join(jwtAlgorithms, ", "))
	}
}

// ValidateIdPSettings checks settings for trusting an identity provider's
// JWTs: Issuer and Audience are set, and exactly one of JWKSURL and
// PublicKeyPEM. JWKSURL must be https, except that http is allowed when the
// host is a literal loopback address such as 127.0.0.1 (for tests).
// PublicKeyPEM must hold an RSA key of at least 2048 bits or an EC P-256 or
// P-384 key.
func ValidateIdPSettings(s store.IdPSettings) error {
	if err := checkIdPSettings(s); err != nil {
		return err
	}
	if s.PublicKeyPEM != "" {
		k, err := parsePublicKeyPEM(s.PublicKeyPEM)
		if err != nil {
			return fmt.Errorf("IdP settings: %w", err)
		}
		if len(idpKeyAlgorithms(k)) == 0 {
			return fmt.Errorf("IdP settings: the public key is %s, want an RSA, EC P-256 or EC P-384 key", describeKey(k))
		}
	}
	return nil
}

// checkIdPSettings is ValidateIdPSettings without parsing the PEM.
func checkIdPSettings(s store.IdPSettings) error {
	if s.Issuer == "" {
		return errors.New("IdP settings: issuer is required")
	}
	if s.Audience == "" {
		return errors.New("IdP settings: audience is required")
	}
	switch {
	case s.JWKSURL == "" && s.PublicKeyPEM == "":
		return errors.New("IdP settings: need a JWKS URL or a public key PEM")
	case s.JWKSURL != "" && s.PublicKeyPEM != "":
		return errors.New("IdP settings: give a JWKS URL or a public key PEM, not both")
	case s.JWKSURL != "":
		return checkJWKSURL(s.JWKSURL)
	}
	return nil
}

func checkJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("IdP settings: JWKS URL: %w", err)
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("IdP settings: JWKS URL %q must be an absolute URL without user info or fragment", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("IdP settings: JWKS URL %q must use https", raw)
}

// parsePublicKeyPEM parses the first PEM block of s: a PKIX "PUBLIC KEY", a
// PKCS #1 "RSA PUBLIC KEY" or a "CERTIFICATE", whose public key it returns
// (the certificate's validity period is not checked). It returns an
// *rsa.PublicKey or an *ecdsa.PublicKey.
func parsePublicKeyPEM(s string) (any, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("no PEM block found in the public key")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, fmt.Errorf("the PEM block is a %s; give the public key instead and keep the private key secret", block.Type)
		}
		return nil, fmt.Errorf("the PEM block is a %s, want PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s PEM: %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return nil, fmt.Errorf("the RSA key has %d bits, want %d to %d", n, minRSABits, maxRSABits)
		}
	case *ecdsa.PublicKey:
	default:
		return nil, fmt.Errorf("the public key is %s, want RSA or EC", describeKey(key))
	}
	return key, nil
}

// keyFits reports whether key can verify signatures made with alg.
func keyFits(alg string, key any) bool {
	switch alg {
	case RS256, RS384, RS512, PS256:
		k, ok := key.(*rsa.PublicKey)
		return ok && k.N.BitLen() >= minRSABits && k.N.BitLen() <= maxRSABits
	case ES256:
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve == elliptic.P256()
	case ES384:
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve == elliptic.P384()
	}
	return false
}

// idpKeyAlgorithms returns the identity-provider algorithms key can verify.
func idpKeyAlgorithms(key any) []string {
	var algs []string
	for _, a := range idpAlgorithms {
		if keyFits(a, key) {
			algs = append(algs, a)
		}
	}
	return algs
}

func keyWanted(alg string) string {
	switch alg {
	case ES256:
		return "an EC P-256 key"
	case ES384:
		return "an EC P-384 key"
	}
	return fmt.Sprintf("an RSA key of %d to %d bits", minRSABits, maxRSABits)
}

func describeKey(key any) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("an RSA key of %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "an EC " + k.Curve.Params().Name + " key"
	}
	return fmt.Sprintf("a %T", key)
}
