package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/mapping"
	"github.com/rosterhq/roster/internal/provision/report"
)

// maxJobDocument bounds what `job apply` reads, so a wrong file (or an
// endless pipe) fails fast instead of filling memory.
const maxJobDocument = 1 << 20

// jobView is a job as the CLI shows it, and as the admin API does.
type jobView = job.View

func viewOf(j job.Job) jobView { return job.ViewOf(j) }

func commandJob() *cobra.Command {
	var f manageFlags
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Manage provisioning jobs: where identities come from, where they go, and how",
	}
	f.register(cmd)

	var file string
	apply := &cobra.Command{
		Use:   "apply -f FILE|-",
		Short: "Create or update a provisioning job from a YAML or JSON document",
		Long: `Reads a job document (YAML or JSON; see docs/provisioning.md, "Jobs") and
creates the job, or replaces the document of the job of that name. ${NAME} in
the document's values is replaced by the environment variable NAME, so that
secrets can stay out of the file; an unset variable is an error. A new job is
Off. Changing its mappings or scoping makes its next cycle an initial one.`,
		Example: `  LDAP_PASSWORD=... APP_TOKEN=... roster job apply -f hr-to-app.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := readDocument(cmd, file)
			if err != nil {
				return err
			}
			j, err := job.Parse(doc, os.LookupEnv)
			if err == nil {
				err = mapping.CheckJob(j)
			}
			if err != nil {
				return usageError{err}
			}
			return f.run(cmd, func(e *env) error {
				created, j, err := job.New(e.store).Apply(e.ctx, j, actor())
				if err != nil {
					return err
				}
				applied := "updated"
				if created {
					applied = "created"
				}
				v := struct {
					jobView
					Applied string `json:"applied"` // created or updated
				}{viewOf(j), applied}
				return e.print(v, func(w io.Writer) {
					fmt.Fprintf(w, "Applied job %s: %s (revision %d, %s", j.Name, applied, j.Revision, j.Status)
					if j.NeedsInitial {
						fmt.Fprint(w, ", next cycle initial")
					}
					fmt.Fprintln(w, ")")
				})
			})
		},
	}
	apply.Flags().StringVarP(&file, "file", "f", "", "the job document, or - for standard input")
	_ = apply.MarkFlagRequired("file")

	list := &cobra.Command{
		Use:   "list",
		Short: "List provisioning jobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				js, err := job.New(e.store).List(e.ctx)
				if err != nil {
					return err
				}
				views := make([]jobView, 0, len(js))
				for _, j := range js {
					views = append(views, viewOf(j))
				}
				return e.print(views, func(w io.Writer) {
					fmt.Fprintln(w, "NAME\tSTATUS\tSOURCE\tTARGET\tSCOPE\tSCHEDULE\tREVISION\tUPDATED")
					for _, j := range js {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", j.Name, j.Status, j.Source.Type, j.Target.URL, j.Scope,
							time.Duration(j.Schedule.Interval), j.Revision, j.Updated.Local().Format(time.DateTime))
					}
				})
			})
		},
	}

	var watch bool
	show := &cobra.Command{
		Use:   "show NAME [--watch]",
		Short: "Show a provisioning job, its secrets redacted; --watch follows its running cycle's progress",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				if watch {
					return watchJob(e.ctx, e, args[0], isTerminal(cmd.OutOrStdout()))
				}
				j, err := job.New(e.store).Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "job")
				}
				state, err := report.New(e.store).State(e.ctx, args[0])
				if err != nil {
					return err
				}
				v := struct {
					jobView
					Engine report.State `json:"engine"`
				}{viewOf(j), state}
				return e.print(v, func(w io.Writer) {
					printJob(w, viewOf(j))
					printState(w, j, state)
				})
			})
		},
	}

	show.Flags().BoolVar(&watch, "watch", false, "follow the running cycle (or wait for the next one) with a live progress bar until it ends")

	var confirm string
	del := &cobra.Command{
		Use:   "delete NAME --confirm NAME",
		Short: "Delete a provisioning job",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if confirm != args[0] {
				return usageError{fmt.Errorf("deleting job %q removes its configuration; repeat its name with --confirm %s", args[0], args[0])}
			}
			return f.run(cmd, func(e *env) error {
				if err := job.New(e.store).Delete(e.ctx, args[0], actor()); err != nil {
					return notFoundHint(err, "job")
				}
				return e.print(map[string]any{"name": args[0], "deleted": true}, func(w io.Writer) {
					fmt.Fprintf(w, "Deleted job %s.\n", args[0])
				})
			})
		},
	}
	del.Flags().StringVar(&confirm, "confirm", "", "the job's name, to confirm")

	cmd.AddCommand(apply, list, show, del)
	cmd.AddCommand(jobRunCommands(&f)...)
	cmd.AddCommand(jobSchemaCommands(&f)...)
	cmd.AddCommand(jobPushCommands(&f)...)
	return cmd
}

// readDocument reads a job document from a file or, for "-", from
// standard input.
func readDocument(cmd *cobra.Command, file string) ([]byte, error) {
	return readInput(cmd, file, "job document", maxJobDocument)
}

// readInput reads what from a file or, for "-", from standard input, up to
// limit bytes.
func readInput(cmd *cobra.Command, file, what string, limit int) ([]byte, error) {
	var r io.Reader
	if file == "-" {
		r = cmd.InOrStdin()
	} else {
		fh, err := os.Open(file)
		if err != nil {
			return nil, usageError{fmt.Errorf("read %s: %w", what, err)}
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, file, err)
	}
	if len(b) > limit {
		return nil, usageError{fmt.Errorf("read %s: larger than %d MiB", what, limit>>20)}
	}
	return b, nil
}

func printJob(w io.Writer, v jobView) {
	fmt.Fprintf(w, "Name:\t%s\n", v.Name)
	fmt.Fprintf(w, "Status:\t%s\n", v.Status)
	fmt.Fprintf(w, "Revision:\t%d\n", v.Revision)
	fmt.Fprintf(w, "Next cycle:\t%s\n", map[bool]string{true: "initial", false: "incremental"}[v.NeedsInitial])
	s := v.Source
	fmt.Fprintf(w, "Source:\t%s %s\n", s.Type, s.URL)
	for _, kv := range [][2]string{{"Bind DN", s.BindDN}, {"Bind password", s.BindPassword}, {"Base DN", s.BaseDN},
		{"User filter", s.UserFilter}, {"Group filter", s.GroupFilter}, {"Source token", s.Token}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "  %s:\t%s\n", kv[0], kv[1])
		}
	}
	fmt.Fprintf(w, "Target:\t%s\n", v.Target.URL)
	fmt.Fprintf(w, "  Target token:\t%s\n", v.Target.Token)
	fmt.Fprintf(w, "Scope:\t%s\n", v.Scope)
	for _, a := range v.Assignments {
		fmt.Fprintf(w, "  Assigned:\t%s %s\n", a.Group, a.Role)
	}
	fmt.Fprintf(w, "Schedule:\tevery %s\n", time.Duration(v.Schedule.Interval))
	a := v.Actions
	fmt.Fprintf(w, "Actions:\tcreate %s, update %s, delete %s; out of scope: %s\n",
		yesNo(a.Create), yesNo(a.Update), yesNo(a.Delete), a.Deprovision)
	if n := v.Notifications; len(n.Emails) > 0 || n.Tenant != "" {
		fmt.Fprintf(w, "Notifications:\n")
		if len(n.Emails) > 0 {
			fmt.Fprintf(w, "  E-mail:\t%s\n", strings.Join(n.Emails, ", "))
		}
		if n.Tenant != "" {
			fmt.Fprintf(w, "  Tenant events:\t%s\n", n.Tenant)
		}
	}
	m := v.EffectiveMappings()
	for _, list := range []struct {
		name     string
		ms       []job.Mapping
		defaults bool
	}{{"Users", m.Users, v.Mappings.Users == nil}, {"Groups", m.Groups, v.Mappings.Groups == nil}} {
		suffix := ""
		if list.defaults {
			suffix = " (defaults)"
		}
		fmt.Fprintf(w, "%s mappings%s:\n", list.name, suffix)
		for _, mp := range list.ms {
			fmt.Fprintf(w, "  %s\t← %s\n", mp.Target, mappingText(mp))
		}
	}
	fmt.Fprintf(w, "Created:\t%s\n", v.Created.Local().Format(time.DateTime))
	fmt.Fprintf(w, "Updated:\t%s\n", v.Updated.Local().Format(time.DateTime))
}

// mappingText describes a mapping's source on one line.
func mappingText(m job.Mapping) string {
	var b strings.Builder
	switch m.Kind {
	case job.KindConstant:
		fmt.Fprintf(&b, "constant %q", m.Value)
	case job.KindExpression:
		b.WriteString(m.Expression)
	default:
		fmt.Fprintf(&b, "[%s]", m.Source)
	}
	if m.Default != "" {
		fmt.Fprintf(&b, " (default %q)", m.Default)
	}
	if m.Matching {
		fmt.Fprintf(&b, " (matching, precedence %d)", m.Precedence)
	}
	if m.Flow == job.FlowObjectAddOnly {
		b.WriteString(" (on create only)")
	}
	return b.String()
}

// printState shows when the job runs next and how its last cycle went.
func printState(w io.Writer, j job.Job, st report.State) {
	switch {
	case j.Status != job.StatusOn:
		fmt.Fprintf(w, "Next run:\tnone (the job is %s)\n", j.Status)
	case st.NextRun.IsZero() || st.NextRun.Before(time.Now()):
		fmt.Fprintln(w, "Next run:\tdue now")
	default:
		fmt.Fprintf(w, "Next run:\t%s\n", st.NextRun.Local().Format(time.DateTime))
	}
	if q := st.Quarantine; q != nil {
		fmt.Fprintf(w, "Quarantine:\t%s since %s, %d cycles: %s\n", q.Reason, q.Since.Local().Format(time.DateTime), q.Cycles, q.Detail)
		fmt.Fprintf(w, "  Clear:\troster job restart %s\n", j.Name)
	}
	if st.Escrow > 0 {
		fmt.Fprintf(w, "Escrow:\t%d objects failed and are retried: roster job escrow %s\n", st.Escrow, j.Name)
	}
	c := st.LastCycle
	if c == nil {
		fmt.Fprintln(w, "Last cycle:\tnone")
		return
	}
	fmt.Fprintf(w, "Last cycle:\t%s, %s, %s, started %s\n", c.ID, c.Kind, c.Status, c.Started.Local().Format(time.DateTime))
	if len(c.Stats) > 0 {
		fmt.Fprintf(w, "  Counts:\t%s\n", c.Stats)
	}
	if c.Error != "" {
		fmt.Fprintf(w, "  Error:\t%s\n", c.Error)
	}
	printProgress(w, st)
}
