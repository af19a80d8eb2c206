package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/report"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/store"
)

// jobRunCommands are the commands that operate a job: switch it, test its
// connections, run its cycles, read its logs and links.
func jobRunCommands(f *manageFlags) []*cobra.Command {
	status := func(use, short string, s job.Status) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return f.run(cmd, func(e *env) error {
					j, err := job.New(e.store).SetStatus(e.ctx, args[0], s, actor())
					if err != nil {
						return notFoundHint(err, "job")
					}
					return e.print(viewOf(j), func(w io.Writer) {
						fmt.Fprintf(w, "Job %s is %s.\n", j.Name, j.Status)
						if s == job.StatusOn {
							fmt.Fprintln(w, "A running `roster serve` starts its next cycle within 15 seconds of it being due.")
						}
					})
				})
			},
		}
	}
	start := status("start", "Turn a job On: `roster serve` runs its cycles on its schedule", job.StatusOn)
	stop := status("stop", "Turn a job Off: no more cycles (a running cycle finishes)", job.StatusOff)
	pause := status("pause", "Pause a job: no cycles until it is started again; links and watermarks are kept", job.StatusPaused)

	test := &cobra.Command{
		Use:   "test-connection NAME",
		Short: "Check that the job's source and target answer, as Entra's Test Connection does",
		Long: `Connects to the job's source (an LDAP bind and a read of the base DN, or a
SCIM query) and to its target (GET /Users?filter=<matching attribute> eq
"<random>", expecting an empty list), and reads the target's /Schemas to warn
about mapped attributes it does not advertise. Exits 1 if either fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				eng := engine.New(engine.Config{Store: e.store})
				res, err := eng.TestConnection(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "job")
				}
				perr := e.print(res, func(w io.Writer) {
					fmt.Fprintf(w, "Source:\t%s\t%s\n", okText(res.Source.OK), res.Source.Message)
					fmt.Fprintf(w, "Target:\t%s\t%s\n", okText(res.Target.OK), res.Target.Message)
					for _, warn := range res.Warnings {
						fmt.Fprintf(w, "Warning:\t%s\n", warn)
					}
				})
				if perr != nil {
					return perr
				}
				if !res.Source.OK || !res.Target.OK {
					return errors.New("test connection failed")
				}
				return nil
			})
		},
	}

	var once, dryRun, initial bool
	run := &cobra.Command{
		Use:   "run NAME --once [--dry-run]",
		Short: "Run a job's cycle now, in the foreground",
		Long: `Runs one cycle of the job now (--once), whatever its status, and prints its
report; progress goes to standard error. --dry-run reads the source and the
target and logs what the cycle would send, sending nothing and changing no
link or watermark. --initial makes the cycle initial. Without --once, runs
cycles on the job's schedule until interrupted.

Exits 0 when the cycle ran, even if some objects failed (see roster job logs),
and 1 when it could not run (the source or target unreachable or refusing the
credentials, another cycle of the job running).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				ctx, stopSignals := signal.NotifyContext(e.ctx, os.Interrupt, syscall.SIGTERM)
				defer stopSignals()
				eng := engine.New(engine.Config{Store: e.store})
				stderr := cmd.ErrOrStderr()
				o := engine.RunOptions{DryRun: dryRun, Initial: initial, Progress: func(s engine.Stats) {
					fmt.Fprintf(stderr, "\rread %d, in scope %d: created %d, updated %d, disabled %d, deleted %d, failed %d",
						s.Read, s.InScope, s.Created, s.Updated, s.Disabled, s.Deleted, s.Failed)
				}}
				for {
					rep, err := eng.Run(ctx, args[0], o)
					fmt.Fprintln(stderr)
					if err != nil {
						if errors.Is(err, store.ErrNotFound) {
							return notFoundHint(err, "job")
						}
						if rep.Cycle != "" {
							_ = e.print(rep, func(w io.Writer) { printReport(w, rep) })
						}
						return err
					}
					if perr := e.print(rep, func(w io.Writer) { printReport(w, rep) }); perr != nil {
						return perr
					}
					if once {
						return nil
					}
					st, err := report.New(e.store).State(ctx, args[0])
					if err != nil {
						return err
					}
					select {
					case <-ctx.Done():
						return nil
					case <-time.After(time.Until(st.NextRun)):
					}
				}
			})
		},
	}
	run.Flags().BoolVar(&once, "once", false, "run one cycle and exit")
	run.Flags().BoolVar(&dryRun, "dry-run", false, "send nothing; log what would be sent")
	run.Flags().BoolVar(&initial, "initial", false, "make the cycle initial: evaluate every object")

	var q store.ProvisionLogQuery
	var since time.Duration
	logs := &cobra.Command{
		Use:   "logs NAME [--cycle ID] [--status Failure] [-o json|csv]",
		Short: "Show a job's provisioning logs: one entry per object per cycle",
		Long: `Shows the provisioning log entries of a job, oldest first: the cycle, the
object (source anchor and name, target id), the action (Create, Update,
Disable, Delete, Other), the status (Success, Failure, Skipped, Warning), the
steps, the properties modified and the error. -o json and -o csv export them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			csvOut := f.output == "csv"
			if csvOut {
				f.output = "text"
			}
			return f.run(cmd, func(e *env) error {
				r := report.New(e.store)
				if err := r.CheckJob(e.ctx, args[0]); err != nil {
					return notFoundHint(err, "job")
				}
				q.Job = args[0]
				if since > 0 {
					q.Since = time.Now().Add(-since)
				}
				if csvOut {
					return r.WriteLogsCSV(e.ctx, q, e.out)
				}
				entries, err := r.Logs(e.ctx, q)
				if err != nil {
					return err
				}
				return e.print(entries, func(w io.Writer) {
					fmt.Fprintln(w, "TIME\tCYCLE\tKIND\tOBJECT\tTARGET ID\tACTION\tSTATUS\tREASON")
					for _, l := range entries {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Time.Local().Format(time.DateTime), short(l.Cycle),
							l.Kind, l.SourceName, l.TargetID, l.Action, l.Status, l.Reason)
					}
				})
			})
		},
	}
	logs.Flags().StringVar(&q.Cycle, "cycle", "", "only this cycle's entries")
	logs.Flags().StringVar(&q.Status, "status", "", "only entries with this status: Success, Failure, Skipped or Warning")
	logs.Flags().StringVar(&q.Action, "action", "", "only entries with this action: Create, Update, Disable, Delete or Other")
	logs.Flags().StringVar(&q.Object, "object", "", "only entries of this object: source anchor, source name or target id")
	logs.Flags().DurationVar(&since, "since", 0, "only entries of the last duration, e.g. 24h")
	logs.Flags().IntVar(&q.Limit, "limit", 1000, "at most this many entries")

	cycles := &cobra.Command{
		Use:   "cycles NAME",
		Short: "List a job's latest cycles, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				views, err := report.New(e.store).Cycles(e.ctx, args[0], 50)
				if err != nil {
					return notFoundHint(err, "job")
				}
				return e.print(views, func(w io.Writer) {
					fmt.Fprintln(w, "CYCLE\tKIND\tSTATUS\tSTARTED\tTOOK\tSTATS")
					for _, v := range views {
						took := "-"
						if !v.Ended.IsZero() {
							took = v.Ended.Sub(v.Started).Round(time.Millisecond).String()
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Kind, v.Status, v.Started.Local().Format(time.DateTime), took, string(v.Stats))
					}
				})
			})
		},
	}

	var linkKind, linkAnchor, linkTarget string
	var linkDelete bool
	links := &cobra.Command{
		Use:   "links NAME [--kind user|group] [--anchor A | --target ID] [--delete]",
		Short: "Show a job's links between source and target objects, or delete one",
		Long: `A link connects a source object (its anchor) to the target object the job
created or matched. Without --anchor or --target, lists the job's links. With
--delete, deletes the link named by --anchor (or --target), so that the next
cycle matches the object again; the job must be Off or Paused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if linkDelete && linkAnchor == "" && linkTarget == "" {
				return usageError{errors.New("--delete needs --anchor or --target")}
			}
			if linkKind != "user" && linkKind != "group" && !(linkKind == "" && !linkDelete) {
				if linkDelete && linkKind == "" {
					linkKind = "user"
				} else {
					return usageError{fmt.Errorf("--kind must be user or group, not %q", linkKind)}
				}
			}
			return f.run(cmd, func(e *env) error {
				svc, r := job.New(e.store), report.New(e.store)
				if err := r.CheckJob(e.ctx, args[0]); err != nil {
					return notFoundHint(err, "job")
				}
				if linkAnchor != "" || linkTarget != "" {
					kind := linkKind
					if kind == "" {
						kind = "user"
					}
					id := linkAnchor
					if id == "" {
						id = linkTarget
					}
					l, err := r.Link(e.ctx, args[0], kind, id, linkAnchor == "")
					if err != nil {
						return notFoundHint(err, "link")
					}
					if linkDelete {
						if err := svc.DeleteLink(e.ctx, args[0], kind, l.SourceAnchor, actor()); err != nil {
							return err
						}
						return e.print(map[string]any{"job": args[0], "kind": kind, "anchor": l.SourceAnchor, "deleted": true}, func(w io.Writer) {
							fmt.Fprintf(w, "Deleted the link of %s %s (target %s); the next cycle matches it again.\n", kind, l.SourceAnchor, l.TargetID)
						})
					}
					return e.print(l, func(w io.Writer) { printLinks(w, []report.Link{l}) })
				}
				all := []report.Link{}
				err := r.Links(e.ctx, args[0], linkKind, func(l report.Link) error {
					all = append(all, l)
					return nil
				})
				if err != nil {
					return err
				}
				return e.print(all, func(w io.Writer) { printLinks(w, all) })
			})
		},
	}
	links.Flags().StringVar(&linkKind, "kind", "", "user or group (default: both; user with --anchor/--target)")
	links.Flags().StringVar(&linkAnchor, "anchor", "", "the source object's anchor")
	links.Flags().StringVar(&linkTarget, "target", "", "the target object's id")
	links.Flags().BoolVar(&linkDelete, "delete", false, "delete the link")

	allow := &cobra.Command{
		Use:   "allow-deletes NAME",
		Short: "Send the disables and deletes a job held because they exceeded its deletion threshold",
		Long: `A cycle whose disables and deletes exceed the job's deletionThreshold (count,
default 500, or percent of its linked objects) sends none of them: it logs
them as StagedDelete and pauses the job. allow-deletes sends exactly those
held actions, in a cycle of its own, and records who allowed them. The job
stays paused: start it again to resume its schedule.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				eng := engine.New(engine.Config{Store: e.store})
				rep, err := eng.AllowDeletes(e.ctx, args[0], actor())
				if err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return notFoundHint(err, "job")
					}
					return err
				}
				return e.print(rep, func(w io.Writer) {
					printReport(w, rep)
					fmt.Fprintf(w, "Next:\troster job start %s\n", args[0])
				})
			})
		},
	}

	var onUser, onGroup string
	provision := &cobra.Command{
		Use:   "provision NAME --user ANCHOR | --group ANCHOR",
		Short: "Provision one user, or one group with up to 5 members, now (Entra's provision on demand)",
		Long: `Reads one object from the job's source by its anchor (entryUUID, objectGUID
or SCIM id), scopes, maps, matches and writes it as a cycle would, now and
whatever the job's status, and shows each step (Import, Scope and why, Match,
Action) with the properties sent. A group comes with up to 5 of its members.
The job's schedule and watermarks are left alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, anchor := source.User, onUser
			switch {
			case onUser != "" && onGroup != "", onUser == "" && onGroup == "":
				return usageError{errors.New("give one of --user and --group")}
			case onGroup != "":
				kind, anchor = source.Group, onGroup
			}
			return f.run(cmd, func(e *env) error {
				eng := engine.New(engine.Config{Store: e.store})
				rep, logs, err := eng.ProvisionOnDemand(e.ctx, args[0], kind, anchor)
				if err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return notFoundHint(err, "job")
					}
					return err
				}
				views := make([]report.Log, 0, len(logs))
				for _, l := range logs {
					views = append(views, report.LogOf(l))
				}
				v := struct {
					Cycle   string       `json:"cycle"`
					Entries []report.Log `json:"entries"`
				}{rep.Cycle, views}
				return e.print(v, func(w io.Writer) {
					for _, l := range logs {
						fmt.Fprintf(w, "%s %s (%s):\t%s %s", l.Kind, l.SourceName, l.SourceAnchor, l.Action, l.Status)
						if l.Reason != "" {
							fmt.Fprintf(w, ": %s", l.Reason)
						}
						fmt.Fprintln(w)
						var steps []engine.Step
						_ = json.Unmarshal(l.Steps, &steps)
						for _, st := range steps {
							fmt.Fprintf(w, "  %s:\t%s\t%s\n", st.Name, st.Status, st.Detail)
						}
						var mods []engine.Modified
						_ = json.Unmarshal(l.Modified, &mods)
						for _, m := range mods {
							fmt.Fprintf(w, "  %s:\t%v → %v\n", m.Name, m.Old, m.New)
						}
					}
				})
			})
		},
	}
	provision.Flags().StringVar(&onUser, "user", "", "the user's anchor in the source")
	provision.Flags().StringVar(&onGroup, "group", "", "the group's anchor in the source")

	restart := &cobra.Command{
		Use:   "restart NAME",
		Short: "Clear a job's watermarks, escrow and quarantine; its next cycle is initial, due now",
		Long: `Entra's "Restart provisioning": the engine forgets where the job's source
was read up to, the objects in escrow and the job's quarantine (with the
disables and deletes it held), and the job's next cycle is an initial one,
due now. Links stay: provisioned objects are matched, not created again.
A running cycle must end first.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				eng := engine.New(engine.Config{Store: e.store})
				if err := eng.Restart(e.ctx, args[0], actor()); err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return notFoundHint(err, "job")
					}
					return err
				}
				return e.print(map[string]string{"job": args[0], "restarted": "true"}, func(w io.Writer) {
					fmt.Fprintf(w, "Restarted:\t%s: its next cycle is initial and due now\n", args[0])
				})
			})
		},
	}

	escrow := &cobra.Command{
		Use:   "escrow NAME",
		Short: "List a job's objects in escrow: those that failed, with when they are retried",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.run(cmd, func(e *env) error {
				var all []report.Escrow
				err := report.New(e.store).Escrow(e.ctx, args[0], func(x report.Escrow) error {
					all = append(all, x)
					return nil
				})
				if err != nil {
					if errors.Is(err, store.ErrNotFound) {
						return notFoundHint(err, "job")
					}
					return err
				}
				return e.print(all, func(w io.Writer) {
					fmt.Fprintln(w, "KIND\tNAME\tSOURCE ANCHOR\tFAILURES\tSINCE\tNEXT RETRY\tACTION\tERROR")
					for _, x := range all {
						kind := x.Kind
						if x.Reference {
							kind += " (reference)"
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s: %s\n", kind, x.Display, x.SourceAnchor, x.Failures,
							x.FirstFailed.Local().Format(time.DateTime), x.NextRetry.Local().Format(time.DateTime), x.Action, x.ErrorCode, x.Reason)
					}
				})
			})
		},
	}

	return []*cobra.Command{start, stop, pause, test, run, logs, cycles, links, allow, provision, restart, escrow}
}

func okText(ok bool) string {
	if ok {
		return "OK"
	}
	return "FAILED"
}

func short(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

func printReport(w io.Writer, r engine.Report) {
	kind := "incremental"
	if r.Initial {
		kind = "initial"
	}
	if r.DryRun {
		kind += " dry-run"
	}
	fmt.Fprintf(w, "Cycle:\t%s (%s)\n", r.Cycle, kind)
	fmt.Fprintf(w, "Status:\t%s in %s\n", r.Status, r.Ended.Sub(r.Started).Round(time.Millisecond))
	s := r.Stats
	fmt.Fprintf(w, "Read:\t%d (%d in scope)\n", s.Read, s.InScope)
	fmt.Fprintf(w, "Created:\t%d\nUpdated:\t%d\nLinked:\t%d\nDisabled:\t%d\nDeleted:\t%d\nUnchanged:\t%d\nSkipped:\t%d\nFailed:\t%d\n",
		s.Created, s.Updated, s.Linked, s.Disabled, s.Deleted, s.Unchanged, s.Skipped, s.Failed)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "Warning:\t%s\n", warn)
	}
	if r.Held > 0 {
		fmt.Fprintf(w, "Held:\t%d disables and deletes; the job is paused: roster job allow-deletes %s\n", r.Held, r.Job)
	}
	if r.Escrow > 0 {
		fmt.Fprintf(w, "Escrow:\t%d objects failed and are retried by later cycles: roster job escrow %s\n", r.Escrow, r.Job)
	}
	if q := r.Quarantine; q != nil {
		fmt.Fprintf(w, "Quarantine:\t%s: %s\n", q.Reason, q.Detail)
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "See:\troster job logs %s --cycle %s --status Failure\n", r.Job, r.Cycle)
	}
}

func printLinks(w io.Writer, ls []report.Link) {
	fmt.Fprintln(w, "KIND\tSOURCE ANCHOR\tTARGET ID\tNAME\tSTATE\tUPDATED")
	for _, l := range ls {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Kind, l.SourceAnchor, l.TargetID, l.Display, l.State, l.Updated.Local().Format(time.DateTime))
	}
}
