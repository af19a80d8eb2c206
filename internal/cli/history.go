package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/feed"
	"github.com/rosterhq/roster/internal/store"
)

func commandHistory() *cobra.Command {
	var f manageFlags
	var q store.HistoryQuery
	var since, until string
	var limit int
	cmd := &cobra.Command{
		Use:   "history TENANT",
		Short: "Show a tenant's revision history: every change to its users and groups, who made it, before and after",
		Example: `  roster history acme --user alice@acme.example
  roster history acme --since 2026-12-01T00:00:00Z -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if q.Since, err = parseTimeFlag("since", since); err != nil {
				return err
			}
			if q.Until, err = parseTimeFlag("until", until); err != nil {
				return err
			}
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				q.Tenant = t.ID
				var all []store.Change
				for limit <= 0 || len(all) < limit {
					q.Limit = store.HistoryMaxLimit
					if limit > 0 {
						q.Limit = min(q.Limit, limit-len(all))
					}
					page, err := e.log.History(e.ctx, q)
					if err != nil {
						return err
					}
					all = append(all, page...)
					if len(page) < q.Limit {
						break
					}
					q.After = page[len(page)-1].Seq
				}
				if all == nil {
					all = []store.Change{}
				}
				return e.print(all, func(w io.Writer) { printHistory(w, all) })
			})
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&q.UserName, "user", "", "only the users that had this userName (also before a rename)")
	fl.StringVar(&q.ResourceType, "type", "", "only changes of this kind: User, Group, Token, OAuthClient, Webhook or Tenant")
	fl.StringVar(&q.ResourceID, "id", "", "only changes of the resource with this id")
	fl.StringVar(&q.Actor, "actor", "", `only changes by this actor, such as "Scim System User"`)
	fl.StringVar(&since, "since", "", "only changes at or after this RFC 3339 time, or this long ago (such as 24h)")
	fl.StringVar(&until, "until", "", "only changes before this RFC 3339 time, or this long ago")
	fl.IntVar(&limit, "limit", 0, "at most this many entries (default: all)")
	return cmd
}

// printHistory writes history entries for people: one line per change,
// then one indented line per attribute with its values before and after.
func printHistory(w io.Writer, entries []store.Change) {
	fmt.Fprintln(w, "TIME\tOPERATION\tRESOURCE\tACTOR\tEVENTS")
	for _, c := range entries {
		actor := c.Actor
		if c.ActorLabel != "" {
			actor += " (" + c.ActorLabel + ")"
		}
		fmt.Fprintf(w, "%s\t%s\t%s %s\t%s\t%s\n", c.Time.Local().Format("2006-01-02 15:04:05.000"), c.Operation,
			c.ResourceType, cmpName(c), actor, strings.Join(c.EventTypes, " "))
		for _, a := range c.Attributes {
			fmt.Fprintf(w, "\t  %s\t%s → %s\t\t\n", a.Path, compact(a.Before), compact(a.After))
		}
		if len(c.MembersAdded) > 0 {
			fmt.Fprintf(w, "\t  members added\t%s\t\t\n", strings.Join(c.MembersAdded, ", "))
		}
		if len(c.MembersRemoved) > 0 {
			fmt.Fprintf(w, "\t  members removed\t%s\t\t\n", strings.Join(c.MembersRemoved, ", "))
		}
	}
}

func cmpName(c store.Change) string {
	if c.ResourceName == "" {
		return c.ResourceID
	}
	return c.ResourceName + " (" + c.ResourceID + ")"
}

// compact renders a value as one line of JSON, "–" for none.
func compact(v any) string {
	if v == nil {
		return "–"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

// parseTimeFlag reads an RFC 3339 time or a duration meaning that long ago.
func parseTimeFlag(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, usageError{fmt.Errorf("--%s must be an RFC 3339 time (2026-12-01T00:00:00Z) or a duration (24h), not %q", name, s)}
}

func commandEvents() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Read a tenant's change events, and manage their webhook deliveries",
	}
	cmd.AddCommand(commandEventsList(), commandEventsDeliveries(), commandEventsRedeliver())
	return cmd
}

func commandEventsList() *cobra.Command {
	var f manageFlags
	var after string
	var limit int
	var follow bool
	cmd := &cobra.Command{
		Use:   "list TENANT",
		Short: "Print a tenant's change events after a cursor; --follow keeps printing new ones",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				t, err := e.tenants.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "tenant")
				}
				fd := feed.New(e.store, nil, 250*time.Millisecond)
				wait := time.Duration(0)
				if follow {
					wait = time.Minute
				}
				header := true
				for {
					evs, next, err := fd.Read(e.ctx, store.EventQuery{Tenant: t.ID, After: after, Limit: limit}, wait)
					if err != nil {
						if e.ctx.Err() != nil {
							return nil
						}
						return err
					}
					if err := printEvents(e, evs, next, header); err != nil {
						return err
					}
					header = false
					after = next
					if !follow || e.ctx.Err() != nil {
						return nil
					}
				}
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&after, "after", "", "cursor to read after (the NEXT of an earlier read); default: the oldest retained event")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many events per read")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep waiting for and printing new events until interrupted")
	return cmd
}

func printEvents(e *env, evs []store.Event, next string, header bool) error {
	if e.json {
		// One JSON object per line, so --follow output can be piped.
		enc := json.NewEncoder(e.out)
		for _, ev := range evs {
			if err := enc.Encode(struct {
				store.Event
				Cursor string `json:"cursor"`
			}{ev, ev.Cursor}); err != nil {
				return err
			}
		}
		return nil
	}
	return e.print(nil, func(w io.Writer) {
		if header {
			fmt.Fprintln(w, "CURSOR\tTIME\tTYPE\tRESOURCE\tID")
		}
		for _, ev := range evs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s %s\t%s\n", ev.Cursor, ev.Time.Local().Format("2006-01-02 15:04:05.000"), ev.Type, ev.ResourceType, ev.ResourceID, ev.ID)
		}
		if header && len(evs) == 0 {
			fmt.Fprintf(w, "no events after %q\n", next)
		}
	})
}
