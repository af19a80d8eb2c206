package cli

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/validate"
)

func commandValidate() *cobra.Command {
	var rn validate.Runner
	var profiles, output string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a SCIM endpoint (Roster or any other) the way Entra ID and Okta use it",
		Long: `Run the request sequences Microsoft Entra ID and Okta really send, and RFC 7643/7644
conformance checks driven by the endpoint's own /Schemas and /ServiceProviderConfig,
against a SCIM endpoint. Each check names the document and section it comes from.

Profiles: entra, okta, rfc (comma-separated; default all three).
Test resources are named "roster-validate-<run id>-..." and deleted at the end,
also when the run is interrupted. Exit status 0 only when every required check
passes; 1 when one fails; 2 on usage errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rn.URL == "" || rn.Token == "" {
				return usageError{fmt.Errorf("--url and --token are required")}
			}
			var list []string
			for p := range strings.SplitSeq(profiles, ",") {
				if p = strings.TrimSpace(p); p != "" {
					list = append(list, p)
				}
			}
			for _, p := range list {
				if len(validate.CheckList(p)) == 0 {
					return usageError{fmt.Errorf("--profile: unknown profile %q (want %s)", p, strings.Join(validate.Profiles, ", "))}
				}
			}
			write := map[string]func(*validate.Report, *cobra.Command) error{
				"text":  func(r *validate.Report, c *cobra.Command) error { return r.WriteText(c.OutOrStdout()) },
				"json":  func(r *validate.Report, c *cobra.Command) error { return r.WriteJSON(c.OutOrStdout()) },
				"junit": func(r *validate.Report, c *cobra.Command) error { return r.WriteJUnit(c.OutOrStdout()) },
			}[output]
			if write == nil {
				return usageError{fmt.Errorf("--output: want text, json or junit, not %q", output)}
			}
			rn.HTTPClient = &http.Client{Timeout: timeout}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, runErr := rn.Run(ctx, list...)
			if rep == nil {
				return usageError{runErr}
			}
			if err := write(rep, cmd); err != nil {
				return err
			}
			switch {
			case runErr != nil:
				return runErr
			case len(rep.Cleanup.Problems) > 0:
				return fmt.Errorf("could not delete every test resource: %s", strings.Join(rep.Cleanup.Problems, "; "))
			case !rep.Passed():
				return fmt.Errorf("%d required checks failed", rep.Failed())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&rn.URL, "url", "", "Tenant URL of the SCIM endpoint, e.g. https://roster.example.com/scim/v2/default")
	f.StringVar(&rn.Token, "token", "", "bearer token")
	f.StringVar(&profiles, "profile", strings.Join(validate.Profiles, ","), "profiles to run: entra, okta, rfc (comma-separated)")
	f.StringVarP(&output, "output", "o", "text", "output format: text, json or junit")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "timeout of each request")
	f.DurationVar(&rn.CleanupTimeout, "cleanup-timeout", 30*time.Second, "how long deleting the test resources may take, also after an interrupt")
	return cmd
}
