package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rosterhq/roster/internal/admin"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/tenant"
)

func commandToken() *cobra.Command {
	var f manageFlags
	cmd := &cobra.Command{Use: "token", Short: "Manage a tenant's Secret Tokens"}
	f.register(cmd)

	var label string
	var expires, ttl time.Duration
	var asJWT bool
	issue := &cobra.Command{
		Use:   "issue TENANT",
		Short: "Issue a Secret Token (or, with --jwt, a JWT) and print it once",
		Long: `Issue a new Secret Token for a tenant and print it once; Roster keeps only its
hash. Paste it with the Tenant URL into the identity provider. A tenant may
have several live tokens, so rotate by issuing a new one, updating the
identity provider, then revoking the old one.

With --jwt, mint a JWT for a tenant set up with ` + "`roster tenant jwt NAME --alg HS256`" + `.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				name := args[0]
				if asJWT {
					tok, exp, err := e.tenants.MintJWT(e.ctx, name, ttl, actor())
					if err != nil {
						return notFoundHint(err, "tenant")
					}
					v := map[string]any{"tenant": name, "tenant_url": e.urls.TenantURL(name), "shared_url": e.urls.SCIM(), "token": tok, "expires": exp}
					return e.print(v, func(w io.Writer) {
						fmt.Fprintf(w, "Tenant URL:\t%s\nJWT:\t%s\nExpires:\t%s\n", e.urls.TenantURL(name), tok, exp.Format(time.RFC3339))
					})
				}
				req := tenant.TokenRequest{Label: label, CreatedBy: actor()}
				if expires > 0 {
					req.Expires = time.Now().Add(expires)
				}
				t, err := e.tenants.Get(e.ctx, name)
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				iss, err := e.tenants.IssueToken(e.ctx, name, req)
				if err != nil {
					return err
				}
				v := tenant.ViewToken(t, iss.Token, e.urls, iss.Plaintext)
				return e.print(v, func(w io.Writer) {
					fmt.Fprintf(w, "Tenant URL:\t%s\nSecret Token:\t%s\nToken id:\t%s\n", v.TenantURL, v.Token, v.ID)
					fmt.Fprintln(w, "(Shown only now; Roster keeps just its hash.)")
				})
			})
		},
	}
	fl := issue.Flags()
	fl.StringVar(&label, "label", "", "label to recognise the token by, such as \"Entra production\"")
	fl.DurationVar(&expires, "expires", 0, "lifetime, such as 8760h; 0 never expires (what Entra's gallery asks for)")
	fl.BoolVar(&asJWT, "jwt", false, "mint an HS256 JWT instead of a Secret Token")
	fl.DurationVar(&ttl, "ttl", 0, "lifetime of a --jwt token (default one year)")

	list := listCommand(&f, "List a tenant's Secret Tokens (never their secrets)",
		func(e *env, t store.Tenant) ([]store.Token, error) { return e.tenants.ListTokens(e.ctx, t.Name) },
		func(e *env, t store.Tenant, tok store.Token) tenant.TokenView {
			return tenant.ViewToken(t, tok, e.urls, "")
		},
		func(w io.Writer, views []tenant.TokenView) {
			fmt.Fprintln(w, "ID\tLABEL\tCREATED BY\tCREATED\tLAST USED\tEXPIRES\tSTATE")
			for _, v := range views {
				state := "live"
				switch {
				case v.Revoked != nil:
					state = "revoked"
				case v.Expires != nil && v.Expires.Before(time.Now()):
					state = "expired"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Label, v.CreatedBy,
					v.Created.Format(time.DateTime), when(v.LastUsed, "never"), when(v.Expires, "never"), state)
			}
		})

	revoke := revokeCommand(&f, "TOKEN_ID", "token", "Revoke a token; its next request, on any node, is refused",
		func(e *env, name, id string) error { return e.tenants.RevokeToken(e.ctx, name, id, actor()) })
	cmd.AddCommand(issue, list, revoke)
	return cmd
}

// listCommand is `… list TENANT` for a kind of credential: it prints the
// views of the tenant's items, as a table or JSON.
func listCommand[T, V any](f *manageFlags, short string,
	list func(e *env, t store.Tenant) ([]T, error),
	view func(e *env, t store.Tenant, item T) V,
	table func(w io.Writer, views []V),
) *cobra.Command {
	return &cobra.Command{
		Use:   "list TENANT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				items, err := list(e, t)
				if err != nil {
					return err
				}
				views := viewsOf(items, func(it T) V { return view(e, t, it) })
				return e.print(views, func(w io.Writer) { table(w, views) })
			})
		},
	}
}

// revokeCommand is `… revoke TENANT ID` for a kind of credential.
func revokeCommand(f *manageFlags, idName, kind, short string, revoke func(e *env, tenant, id string) error) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke TENANT " + idName,
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				if err := revoke(e, args[0], args[1]); err != nil {
					return err
				}
				return e.print(map[string]any{"id": args[1], "tenant": args[0], "revoked": true}, func(w io.Writer) {
					fmt.Fprintf(w, "Revoked %s %s of tenant %s.\n", kind, args[1], args[0])
				})
			})
		},
	}
}

// viewsOf maps items to their views.
func viewsOf[T, V any](items []T, view func(T) V) []V {
	views := make([]V, 0, len(items))
	for _, it := range items {
		views = append(views, view(it))
	}
	return views
}

func when(t *time.Time, zero string) string {
	if t == nil {
		return zero
	}
	return t.Format(time.DateTime)
}

func commandOAuth() *cobra.Command {
	var f manageFlags
	cmd := &cobra.Command{Use: "oauth", Short: "Manage a tenant's OAuth 2.0 clients (client credentials grant)"}
	f.register(cmd)
	var label string
	create := &cobra.Command{
		Use:   "create TENANT",
		Short: "Create an OAuth client and print its id, secret and token endpoint once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				c, secret, err := e.tenants.CreateOAuthClient(e.ctx, t.Name, label, actor())
				if err != nil {
					return err
				}
				v := tenant.ViewOAuthClient(t, c, e.urls, secret)
				return e.print(v, func(w io.Writer) {
					fmt.Fprintf(w, "Token endpoint:\t%s\nClient id:\t%s\nClient secret:\t%s\nTenant URL:\t%s\n",
						v.TokenEndpoint, v.ClientID, v.ClientSecret, e.urls.TenantURL(t.Name))
					fmt.Fprintln(w, "(The secret is shown only now.)")
				})
			})
		},
	}
	create.Flags().StringVar(&label, "label", "", "label to recognise the client by")
	list := listCommand(&f, "List a tenant's OAuth clients",
		func(e *env, t store.Tenant) ([]store.OAuthClient, error) {
			return e.tenants.ListOAuthClients(e.ctx, t.Name)
		},
		func(e *env, t store.Tenant, c store.OAuthClient) tenant.OAuthClientView {
			return tenant.ViewOAuthClient(t, c, e.urls, "")
		},
		func(w io.Writer, views []tenant.OAuthClientView) {
			fmt.Fprintln(w, "CLIENT ID\tLABEL\tCREATED\tREVOKED")
			for _, v := range views {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", v.ClientID, v.Label, v.Created.Format(time.DateTime), when(v.Revoked, "-"))
			}
		})
	revoke := revokeCommand(&f, "CLIENT_ID", "OAuth client", "Revoke an OAuth client and the access tokens it holds",
		func(e *env, name, id string) error { return e.tenants.RevokeOAuthClient(e.ctx, name, id, actor()) })
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func commandAdmin() *cobra.Command {
	var f manageFlags
	cmd := &cobra.Command{Use: "admin", Short: "Manage the admins who use the admin API"}
	f.register(cmd)
	var role string
	var fromStdin bool
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an admin; the password is asked for, or read from stdin with --password-stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			return f.run(cmd, func(e *env) error {
				a, err := e.admins.Create(e.ctx, args[0], pw, role, actor())
				if err != nil {
					return err
				}
				return e.print(admin.ViewOf(a), func(w io.Writer) {
					fmt.Fprintf(w, "Created admin %s (%s).\n", a.Name, a.Role)
				})
			})
		},
	}
	create.Flags().StringVar(&role, "role", store.RoleSuperAdmin, "super_admin, admin or read_only")
	create.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	list := &cobra.Command{
		Use:   "list",
		Short: "List admins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(e *env) error {
				as, err := e.admins.List(e.ctx)
				if err != nil {
					return err
				}
				views := viewsOf(as, admin.ViewOf)
				return e.print(views, func(w io.Writer) {
					fmt.Fprintln(w, "NAME\tROLE\tCREATED")
					for _, a := range as {
						fmt.Fprintf(w, "%s\t%s\t%s\n", a.Name, a.Role, a.Created.Format(time.DateTime))
					}
				})
			})
		},
	}
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set an admin's password and end their sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			return f.run(cmd, func(e *env) error {
				if err := e.admins.SetPassword(e.ctx, args[0], pw, actor()); err != nil {
					return notFoundHint(err, "admin")
				}
				return e.print(map[string]any{"name": args[0], "password_changed": true}, func(w io.Writer) {
					fmt.Fprintf(w, "Changed the password of admin %s.\n", args[0])
				})
			})
		},
	}
	passwd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	cmd.AddCommand(create, list, passwd)
	return cmd
}

// readPassword reads a password from stdin's first line, or asks for it
// twice without echo when stdin is a terminal.
func readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	fd := int(os.Stdin.Fd())
	if !fromStdin && term.IsTerminal(fd) {
		fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
		a, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func commandAudit() *cobra.Command {
	var f manageFlags
	var tenantName string
	var after int64
	var limit int
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log: who created tenants, issued and revoked credentials, changed admins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, func(e *env) error {
				events, err := e.log.List(e.ctx, store.AuditQuery{Tenant: tenantName, After: after, Limit: limit})
				if err != nil {
					return err
				}
				return e.print(events, func(w io.Writer) {
					fmt.Fprintln(w, "SEQ\tTIME\tACTOR\tACTION\tTENANT\tTARGET")
					for _, v := range events {
						fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", v.Seq, v.Time.Format(time.DateTime), v.Actor, v.Action, v.Tenant, v.Target)
					}
				})
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&tenantName, "tenant", "", "only events of this tenant")
	cmd.Flags().Int64Var(&after, "after", 0, "only events after this sequence number")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events")
	return cmd
}
