// Package credential creates and checks every secret Roster issues or
// trusts. It keeps nothing and serves nothing: callers store what it returns
// and hand stored values back to it.
//
// The kinds of secret, what each is for and how it is kept:
//
//   - Secret Token, roster_<id>_<secret>: a tenant's long-lived SCIM bearer
//     token (NewSecretToken). The id names the stored row and the secret is
//     256 random bits. Only Hash of the whole token is stored, and
//     HashEqual compares in constant time. A token chosen outside Roster,
//     such as ROSTER_BOOTSTRAP_TOKEN, may have any form; TokenID derives its
//     id from its hash.
//   - OAuth client credentials, roster-client-<hex> and roster_cs_<secret>
//     (NewClientCredentials): what a tenant's identity provider trades for
//     access tokens in the OAuth 2.0 client credentials grant (RFC 6749
//     §4.4). Only Hash of the secret is stored.
//   - Access token, roster_at_<id>_<secret> (NewAccessToken): a short-lived
//     bearer token issued to an OAuth client, stored like a Secret Token.
//     The distinct prefix lets logs and secret scanners tell them apart.
//   - Admin session, roster_as_<id>_<secret> (NewSessionToken): a signed-in
//     admin's bearer token, stored like a Secret Token.
//   - Admin password: kept only as an argon2id hash in PHC string format
//     (HashPassword, CheckPassword) with the OWASP parameters, which are read
//     back from the stored string so they can be raised later.
//   - HS256 key (NewHS256Secret): a tenant's shared key for JWTs Roster mints
//     (MintHS256) or the tenant's app signs. It is the one secret kept in the
//     clear, because verifying an HMAC signature needs the key itself.
//   - RS256/ES256 public keys and identity-provider keys (store.JWTSettings,
//     store.IdPSettings): not secret. A Verifier checks JWTs signed with the
//     matching private keys, fetching an identity provider's keys from its
//     JWKS URL (RFC 7517) and following its key rotation.
//
// JWT verification errors wrap ErrInvalidJWT and say why the token was
// refused. They are meant for logs: a client must only learn that its
// credentials are invalid.
package credential
