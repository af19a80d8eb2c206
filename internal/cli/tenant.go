package cli

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/tenant"
)

func commandTenant() *cobra.Command {
	var f manageFlags
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Manage tenants: the customer organisations that provision into Roster",
	}
	f.register(cmd)

	printTenant := func(e *env, t store.Tenant) error {
		v := tenant.ViewTenant(t, e.urls)
		return e.print(v, func(w io.Writer) {
			fmt.Fprintf(w, "Name:\t%s\n", v.Name)
			fmt.Fprintf(w, "Tenant URL:\t%s\n", v.TenantURL)
			fmt.Fprintf(w, "Shared URL:\t%s (the token names the tenant)\n", e.urls.SCIM())
			fmt.Fprintf(w, "SCIM enabled:\t%s\n", yesNo(v.SCIMEnabled))
			fmt.Fprintf(w, "Created:\t%s\n", v.Created.Format(time.RFC3339))
			fmt.Fprintf(w, "History actor:\t%s\n", v.HistoryActor)
			fmt.Fprintf(w, "Store passwords:\t%s\n", v.StorePasswords)
			if v.RateLimit > 0 {
				fmt.Fprintf(w, "Rate limit:\t%g requests/s\n", v.RateLimit)
			}
			if v.JWT != nil {
				fmt.Fprintf(w, "JWT:\t%s, aud %q, iss %q\n", v.JWT.Algorithm, v.JWT.Audience, v.JWT.Issuer)
			}
			if v.IdP != nil {
				fmt.Fprintf(w, "IdP JWT:\tiss %q, aud %q\n", v.IdP.Issuer, v.IdP.Audience)
			}
		})
	}

	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant (then issue it a token with `roster token issue NAME`)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Create(e.ctx, args[0], actor())
				if err != nil {
					return err
				}
				return printTenant(e, t)
			})
		},
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(e *env) error {
				ts, err := e.tenants.List(e.ctx)
				if err != nil {
					return err
				}
				views := viewsOf(ts, func(t store.Tenant) tenant.TenantView { return tenant.ViewTenant(t, e.urls) })
				return e.print(views, func(w io.Writer) {
					fmt.Fprintln(w, "NAME\tSCIM\tCREATED\tTENANT URL")
					for _, v := range views {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.Name, map[bool]string{true: "enabled", false: "disabled"}[v.SCIMEnabled],
							v.Created.Format(time.DateOnly), v.TenantURL)
					}
				})
			})
		},
	}

	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a tenant",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				return printTenant(e, t)
			})
		},
	}

	toggle := func(use, short string, enabled bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.run(cmd, func(e *env) error {
					t, err := e.tenants.SetSCIMEnabled(e.ctx, args[0], enabled, actor())
					if err != nil {
						return notFoundHint(err, "tenant")
					}
					return printTenant(e, t)
				})
			},
		}
	}

	var confirm string
	del := &cobra.Command{
		Use:   "delete NAME --confirm NAME",
		Short: "Delete a tenant with all its users, groups and credentials",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if confirm == "" {
				return usageError{fmt.Errorf("deleting tenant %q removes all its data; repeat its name with --confirm %s", args[0], args[0])}
			}
			return f.run(cmd, func(e *env) error {
				if err := e.tenants.Delete(e.ctx, args[0], confirm, actor()); err != nil {
					return notFoundHint(err, "tenant")
				}
				return e.print(map[string]any{"name": args[0], "deleted": true}, func(w io.Writer) {
					fmt.Fprintf(w, "Deleted tenant %s and all its data.\n", args[0])
				})
			})
		},
	}
	del.Flags().StringVar(&confirm, "confirm", "", "the tenant's name, to confirm")

	var rateLimit float64
	var historyActor, storePasswords string
	set := &cobra.Command{
		Use:   "set NAME [--rate-limit N] [--history-actor NAME] [--store-passwords hash|none]",
		Short: "Change a tenant's settings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			setRate, setActor := cmd.Flags().Changed("rate-limit"), cmd.Flags().Changed("history-actor")
			setPasswords := cmd.Flags().Changed("store-passwords")
			if !setRate && !setActor && !setPasswords {
				return usageError{fmt.Errorf("nothing to set; see --help")}
			}
			return f.run(cmd, func(e *env) error {
				var t store.Tenant
				var err error
				if setRate {
					if t, err = e.tenants.SetRateLimit(e.ctx, args[0], rateLimit, actor()); err != nil {
						return notFoundHint(err, "tenant")
					}
				}
				if setActor {
					if t, err = e.tenants.SetHistoryActor(e.ctx, args[0], historyActor, actor()); err != nil {
						return notFoundHint(err, "tenant")
					}
				}
				if setPasswords {
					if t, err = e.tenants.SetStorePasswords(e.ctx, args[0], storePasswords, actor()); err != nil {
						return notFoundHint(err, "tenant")
					}
				}
				return printTenant(e, t)
			})
		},
	}
	set.Flags().Float64Var(&rateLimit, "rate-limit", 0, "SCIM requests per second the tenant may make (0: the server's default)")
	set.Flags().StringVar(&storePasswords, "store-passwords", store.StorePasswordsHash,
		`what to keep of the User passwords SCIM clients send: "hash" (salted argon2id) or "none"`)
	set.Flags().StringVar(&historyActor, "history-actor", "", `actor the revision history shows for SCIM changes ("": Scim System User)`)

	cmd.AddCommand(create, list, show,
		toggle("disable", "Switch a tenant's SCIM endpoint off: its requests get 403, its data is kept", false),
		toggle("enable", "Switch a tenant's SCIM endpoint back on", true),
		del, set, commandTenantJWT(&f), commandTenantIdP(&f))
	return cmd
}

func commandTenantJWT(f *manageFlags) *cobra.Command {
	var cfg store.JWTSettings
	var keyFile string
	var off, reveal bool
	cmd := &cobra.Command{
		Use:   "jwt NAME",
		Short: "Let a tenant authenticate with JWTs: HS256 signed by Roster, or RS256/ES256 signed by the app",
		Long: `Let a tenant authenticate with JWTs instead of, or beside, Secret Tokens.

  roster tenant jwt acme --alg HS256 --aud roster        # Roster keeps a generated secret
  roster token issue acme --jwt                          # mint a JWT for it
  roster tenant jwt acme --alg RS256 --public-key app.pem --aud roster --iss https://app.example.com
  roster tenant jwt acme --off

A JWT names its tenant in the "tenant" claim, so it also works on the shared
Tenant URL. The generated HS256 secret is printed once; --reveal shows it again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				name := args[0]
				if off {
					_, err := e.tenants.DisableJWT(e.ctx, name, actor())
					return err
				}
				if reveal {
					t, err := e.tenants.Get(e.ctx, name)
					if err != nil || t.Settings.JWT == nil {
						return fmt.Errorf("tenant %q has no JWT settings", name)
					}
					return printJWT(e, t, true)
				}
				if keyFile != "" {
					pem, err := os.ReadFile(keyFile)
					if err != nil {
						return err
					}
					cfg.PublicKeyPEM = string(pem)
				}
				t, err := e.tenants.ConfigureJWT(e.ctx, name, cfg, actor())
				if err != nil {
					return err
				}
				return printJWT(e, t, cfg.Algorithm == "HS256")
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Algorithm, "alg", "HS256", "HS256, RS256 or ES256")
	fl.StringVar(&cfg.Audience, "aud", "roster", "audience (aud) the JWTs must carry")
	fl.StringVar(&cfg.Issuer, "iss", "", "issuer (iss) the JWTs must carry; empty accepts any")
	fl.StringVar(&keyFile, "public-key", "", "PEM file with the app's public key (RS256, ES256)")
	fl.BoolVar(&off, "off", false, "stop accepting JWTs")
	fl.BoolVar(&reveal, "reveal", false, "print the current settings with the HS256 secret")
	return cmd
}

func printJWT(e *env, t store.Tenant, withSecret bool) error {
	v := tenant.ViewTenant(t, e.urls).JWT
	if withSecret && len(t.Settings.JWT.Secret) > 0 {
		v.Secret = base64.RawURLEncoding.EncodeToString(t.Settings.JWT.Secret)
	}
	return e.print(v, func(w io.Writer) {
		fmt.Fprintf(w, "Algorithm:\t%s\nAudience:\t%s\nIssuer:\t%s\n", v.Algorithm, v.Audience, v.Issuer)
		if v.Secret != "" {
			fmt.Fprintf(w, "Secret (base64url):\t%s\n", v.Secret)
		}
	})
}

func commandTenantIdP(f *manageFlags) *cobra.Command {
	var cfg store.IdPSettings
	var keyFile string
	var off bool
	cmd := &cobra.Command{
		Use:   "idp NAME",
		Short: "Trust JWTs the tenant's identity provider issues (Entra ID with a blank Secret Token)",
		Long: `Trust bearer JWTs issued by the customer's identity provider itself.

Microsoft Entra ID sends its own JWT when the Secret Token box is left blank:

  roster tenant idp acme --iss https://sts.windows.net/<entra-tenant-id>/ \
      --aud 8adf8e6e-67b2-4cf2-a259-e3dc5476c621 \
      --jwks-url https://login.microsoftonline.com/<entra-tenant-id>/discovery/v2.0/keys`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				if off {
					_, err := e.tenants.DisableIdP(e.ctx, args[0], actor())
					return err
				}
				if keyFile != "" {
					pem, err := os.ReadFile(keyFile)
					if err != nil {
						return err
					}
					cfg.PublicKeyPEM = string(pem)
				}
				t, err := e.tenants.ConfigureIdP(e.ctx, args[0], cfg, actor())
				if err != nil {
					return err
				}
				v := tenant.ViewTenant(t, e.urls).IdP
				return e.print(v, func(w io.Writer) {
					fmt.Fprintf(w, "Issuer:\t%s\nAudience:\t%s\nJWKS URL:\t%s\n", v.Issuer, v.Audience, v.JWKSURL)
				})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Issuer, "iss", "", "issuer (iss) of the identity provider's tokens")
	fl.StringVar(&cfg.Audience, "aud", "", "audience (aud) the tokens carry")
	fl.StringVar(&cfg.JWKSURL, "jwks-url", "", "URL of the identity provider's signing keys (JWKS)")
	fl.StringVar(&keyFile, "public-key", "", "PEM file with the signing key, instead of --jwks-url")
	fl.BoolVar(&off, "off", false, "stop trusting the identity provider's JWTs")
	return cmd
}
