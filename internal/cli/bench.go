package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/loadgen"
)

// serverPIDEnv sets --server-pid when the flag is not given.
const serverPIDEnv = "ROSTER_BENCH_SERVER_PID"

func commandBench() *cobra.Command {
	var o loadgen.Options
	var output, hookAddr, hookSecret string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a SCIM endpoint (Roster or any other)",
		Long: `Send provisioning-shaped load to a SCIM endpoint and report throughput and
latency percentiles. Runs are bounded by --n requests and --duration.
With --server-pid (a server on this Linux machine), also report the server's
CPU time per request in each measured phase, from /proc/PID/stat.

Scenarios: ` + strings.Join(loadgen.Scenarios, ", ") + `

  create-users      POST /Users with Entra-shaped bodies (enterprise extension)
  lookup            eq filters on userName, externalId and the work e-mail
  patch-users       Entra's PATCH forms: name, emails[type eq "work"].value, active "False"/"True"
  list              100-user pages
  group-membership  add and remove 100 members of a group of --seed users
  entra-cycle       an Entra initial cycle for --n users and --groups groups: matching
                    query + create per user, manager references, matching query +
                    create per group, membership PATCHes of 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.URL == "" || o.Token == "" {
				return usageError{fmt.Errorf("--url and --token are required")}
			}
			if v := os.Getenv(serverPIDEnv); v != "" && !cmd.Flags().Changed("server-pid") {
				pid, err := strconv.Atoi(v)
				if err != nil {
					return usageError{fmt.Errorf("%s: %q is not a process id", serverPIDEnv, v)}
				}
				o.ServerPID = pid
			}
			if o.ServerPID < 0 {
				return usageError{fmt.Errorf("--server-pid: %d is not a process id", o.ServerPID)}
			}
			var rcv *loadgen.Receiver
			if hookAddr != "" {
				if hookSecret == "" {
					return usageError{fmt.Errorf("--webhook-listen needs --webhook-secret, the endpoint's signing secret")}
				}
				var err error
				if rcv, err = loadgen.Listen(hookAddr, hookSecret); err != nil {
					return err
				}
				defer rcv.Close()
			}
			rep, err := loadgen.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			out := struct {
				loadgen.Report
				Webhooks *loadgen.ReceiverReport `json:"webhooks,omitempty"`
			}{Report: rep}
			if rcv != nil {
				// Every create emits one event; wait for them, or for ten
				// quiet seconds.
				wr := rcv.Drain(cmd.Context(), rep.Requests, 10*time.Second, time.Now())
				out.Webhooks = &wr
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			fmt.Fprint(cmd.OutOrStdout(), rep)
			if out.Webhooks != nil {
				fmt.Fprint(cmd.OutOrStdout(), out.Webhooks)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.URL, "url", "", "Tenant URL of the SCIM endpoint")
	f.StringVar(&o.Token, "token", "", "bearer token")
	f.StringVar(&o.Scenario, "scenario", "create-users", "scenario to run")
	f.IntVar(&o.N, "n", 10000, "number of measured requests")
	f.IntVar(&o.Concurrency, "concurrency", 32, "concurrent clients")
	f.IntVar(&o.Seed, "seed", 1000, "users to create before measuring lookup, patch-users, list and group-membership")
	f.IntVar(&o.Groups, "groups", 0, "groups entra-cycle creates (default: one per 100 users)")
	f.DurationVar(&o.Duration, "duration", time.Minute, "maximum duration of the measured phase")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	f.StringVar(&hookAddr, "webhook-listen", "", "also receive the server's webhooks on this address (register it first with `roster webhook add`), verify them, and report delivery throughput and lag")
	f.StringVar(&hookSecret, "webhook-secret", "", "the signing secret `roster webhook add` printed")
	f.IntVar(&o.ServerPID, "server-pid", 0, "process id of the server, on this machine: also report its CPU time per request, from /proc/PID/stat (Linux; env "+serverPIDEnv+")")
	return cmd
}
