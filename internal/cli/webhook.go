package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/webhook"
)

func commandWebhook() *cobra.Command {
	var f manageFlags
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Manage a tenant's webhook endpoints, which receive its change events",
	}
	f.register(cmd)

	var (
		req          webhook.EndpointRequest
		allowPrivate bool
	)
	add := &cobra.Command{
		Use:     "add TENANT --url URL",
		Short:   "Add a webhook endpoint; prints the signing secret once",
		Example: `  roster webhook add acme --url https://app.example.com/hooks/roster --events user.created,user.deactivated`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				// The server delivers to a private address only when it
				// runs with --webhook-allow-private too.
				ep, err := webhook.NewEndpoints(e.store, allowPrivate).Create(e.ctx, t, req, actor())
				if err != nil {
					return err
				}
				v := struct {
					store.WebhookEndpoint
					Secret string `json:"secret"`
				}{ep, ep.Secret}
				return e.print(v, func(w io.Writer) {
					printEndpoint(w, ep)
					fmt.Fprintf(w, "Secret:\t%s\n", ep.Secret)
					fmt.Fprintln(w, "(Shown only now. Verify each delivery's webhook-signature with it; see docs/events.md.)")
				})
			})
		},
	}
	add.Flags().StringVar(&req.URL, "url", "", "http(s) URL the events are POSTed to")
	add.Flags().StringSliceVar(&req.EventTypes, "events", nil, "only these event types (default: all): "+strings.Join(store.EventTypes, ","))
	add.Flags().IntVar(&req.MaxAttempts, "max-attempts", webhook.DefaultMaxAttempts, "attempts before a delivery is dead-lettered")
	add.Flags().BoolVar(&allowPrivate, "allow-private", false, "allow a URL that is a loopback or private IP address (the server delivers to it only with --webhook-allow-private)")
	_ = add.MarkFlagRequired("url")

	list := &cobra.Command{
		Use:   "list TENANT",
		Short: "List a tenant's webhook endpoints",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				eps, err := e.endpoints.List(e.ctx, t)
				if err != nil {
					return err
				}
				if eps == nil {
					eps = []store.WebhookEndpoint{}
				}
				return e.print(eps, func(w io.Writer) {
					fmt.Fprintln(w, "ID\tURL\tEVENTS\tMAX ATTEMPTS\tENABLED\tCREATED")
					for _, ep := range eps {
						fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\n", ep.ID, ep.URL, eventsOf(ep), ep.MaxAttempts, yesNo(!ep.Disabled), ep.Created.Local().Format(time.DateTime))
					}
				})
			})
		},
	}

	toggle := func(use, short string, disabled bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " TENANT ENDPOINT-ID",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.run(cmd, func(e *env) error {
					t, err := e.tenants.Get(e.ctx, args[0])
					if err != nil {
						return notFoundHint(err, "tenant")
					}
					ep, err := e.endpoints.Update(e.ctx, t, args[1], webhook.EndpointChange{Disabled: &disabled}, actor())
					if err != nil {
						return notFoundHint(err, "webhook")
					}
					return e.print(ep, func(w io.Writer) { printEndpoint(w, ep) })
				})
			},
		}
	}

	remove := &cobra.Command{
		Use:   "remove TENANT ENDPOINT-ID",
		Short: "Remove a webhook endpoint; its undelivered events are dropped",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				ep, err := e.endpoints.Delete(e.ctx, t, args[1], actor())
				if err != nil {
					return notFoundHint(err, "webhook")
				}
				return e.print(map[string]string{"removed": ep.ID}, func(w io.Writer) { fmt.Fprintf(w, "Removed webhook %s (%s)\n", ep.ID, ep.URL) })
			})
		},
	}
	cmd.AddCommand(add, list, remove,
		toggle("disable", "Pause deliveries to an endpoint; events wait and are sent when it is enabled", true),
		toggle("enable", "Resume deliveries to an endpoint, backlog first", false))
	return cmd
}

func printEndpoint(w io.Writer, ep store.WebhookEndpoint) {
	fmt.Fprintf(w, "ID:\t%s\n", ep.ID)
	fmt.Fprintf(w, "URL:\t%s\n", ep.URL)
	fmt.Fprintf(w, "Events:\t%s\n", eventsOf(ep))
	fmt.Fprintf(w, "Max attempts:\t%d\n", ep.MaxAttempts)
	fmt.Fprintf(w, "Enabled:\t%s\n", yesNo(!ep.Disabled))
}

func eventsOf(ep store.WebhookEndpoint) string {
	if len(ep.EventTypes) == 0 {
		return "all"
	}
	return strings.Join(ep.EventTypes, ",")
}

// withWebhooks runs fn with a webhook service over the jobs host that goes
// with the store; neither is started, so it only reads and requeues while
// `roster serve` (on the same database) delivers.
func withWebhooks(e *env, fn func(*webhook.Service) error) error {
	host, err := jobs.Open(e.ctx, e.store, jobs.Config{})
	if err != nil {
		return err
	}
	defer host.Close()
	s, err := webhook.New(host, webhook.Config{Store: e.store})
	if err != nil {
		return err
	}
	return fn(s)
}

func commandEventsDeliveries() *cobra.Command {
	var f manageFlags
	var q webhook.DeliveryQuery
	cmd := &cobra.Command{
		Use:   "deliveries TENANT [--endpoint ID] [--state dead]",
		Short: "List webhook deliveries of a tenant's events, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				q.Tenant = t.ID
				return withWebhooks(e, func(s *webhook.Service) error {
					ds, err := s.Deliveries(e.ctx, q)
					if err != nil {
						return err
					}
					if ds == nil {
						ds = []webhook.Delivery{}
					}
					return e.print(ds, func(w io.Writer) {
						fmt.Fprintln(w, "ID\tENDPOINT\tEVENT\tTYPE\tSTATE\tATTEMPTS\tLAST STATUS\tLAST ERROR")
						for _, d := range ds {
							fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", d.ID, d.Endpoint, d.EventID, d.EventType, d.State, d.Attempts, d.LastStatus, d.LastError)
						}
					})
				})
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&q.Endpoint, "endpoint", "", "only deliveries to this endpoint")
	cmd.Flags().StringVar(&q.State, "state", "", "only deliveries in this state: pending, delivered or dead")
	cmd.Flags().Int64Var(&q.After, "after", 0, "only deliveries with a larger id (paging)")
	cmd.Flags().IntVar(&q.Limit, "limit", 100, "at most this many")
	return cmd
}

func commandEventsRedeliver() *cobra.Command {
	var f manageFlags
	var endpoint string
	var ids []int64
	cmd := &cobra.Command{
		Use:   "redeliver TENANT --endpoint ID [--id N ...]",
		Short: "Send dead-lettered webhook deliveries again (all of an endpoint's, or the ids given)",
		Long: `Puts dead-lettered deliveries back in line with their attempts reset. The
running server (roster serve on the same database) sends them within a second.
A redelivered event arrives after later events of its resource that were
delivered meanwhile; receivers should order by the resource's meta.version.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				return withWebhooks(e, func(s *webhook.Service) error {
					n, err := s.Redeliver(e.ctx, t, endpoint, ids, actor())
					if errors.Is(err, webhook.ErrPending) {
						fmt.Fprintln(cmd.ErrOrStderr(), err)
						return e.print(map[string]bool{"pending": true}, func(w io.Writer) {
							fmt.Fprintln(w, "The redelivery is recorded; the running server carries it out within seconds. Do not ask again.")
						})
					}
					if err != nil {
						return notFoundHint(err, "webhook")
					}
					return e.print(map[string]int{"redelivered": n}, func(w io.Writer) {
						fmt.Fprintf(w, "%d dead-lettered deliveries put back in line\n", n)
					})
				})
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "the webhook endpoint's id (roster webhook list TENANT)")
	cmd.Flags().Int64SliceVar(&ids, "id", nil, "only these deliveries (roster events deliveries TENANT --state dead); repeatable")
	_ = cmd.MarkFlagRequired("endpoint")
	return cmd
}
