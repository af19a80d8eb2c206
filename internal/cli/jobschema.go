package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/provision/entraschema"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/mapping"
)

// formatEntra is the one schema format of `job export` and `job import`.
const formatEntra = "entra"

// jobSchemaCommands are `job export` and `job import`: a job's mappings,
// scoping filters and flow types as Entra's synchronization schema JSON.
func jobSchemaCommands(f *manageFlags) []*cobra.Command {
	var format, outFile string
	export := &cobra.Command{
		Use:   "export NAME [--format entra] [-o FILE]",
		Short: "Print a job's mappings and scoping filters as Entra's synchronization schema JSON",
		Long: `Prints the job's attribute mappings (the defaults of its source type where
it has none), scoping filters and create/update/delete switches in the JSON
shape of Microsoft Entra's synchronization schema (Graph's
synchronizationSchema), which Entra's schema editor shows. No secrets, and
neither the source nor the target, are in it. What the schema cannot carry
(a mapping's flowNull, job settings Entra keeps elsewhere) is listed as
warnings on standard error.`,
		Example: `  roster job export hr-to-app > schema.json
  roster job export hr-to-app -o schema.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != formatEntra {
				return usageError{fmt.Errorf("--format %q: the one format is %s", format, formatEntra)}
			}
			return f.run(cmd, func(e *env) error {
				j, err := job.New(e.store).Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "job")
				}
				s, warns := entraschema.Export(j)
				b, err := json.MarshalIndent(s, "", "  ")
				if err != nil {
					return err
				}
				b = append(b, '\n')
				for _, w := range warns {
					fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
				}
				if outFile == "" || outFile == "-" {
					_, err = cmd.OutOrStdout().Write(b)
					return err
				}
				if err := os.WriteFile(outFile, b, 0o600); err != nil {
					return fmt.Errorf("write schema: %w", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Exported job %s's schema to %s.\n", j.Name, outFile)
				return nil
			})
		},
	}
	export.Flags().StringVar(&format, "format", formatEntra, "schema format: entra")
	// -o names the file here; the job commands' --output (text or json)
	// does not apply, the schema is JSON.
	export.Flags().StringVarP(&outFile, "output", "o", "", "write the schema to FILE instead of standard output")

	var importFormat, file string
	var dryRun bool
	imp := &cobra.Command{
		Use:   "import NAME --format entra -f FILE|-",
		Short: "Replace a job's mappings and scoping filters with those of an Entra synchronization schema",
		Long: `Reads Entra's synchronization schema JSON (what GET
/servicePrincipals/{id}/synchronization/jobs/{jobId}/schema returns, or Entra's
schema editor shows) and replaces the job's User and Group attribute mappings,
scoping filters and create/update/delete switches with the schema's. The job's
source, target, secrets and other settings are kept; an object type the schema
has no mapping for keeps its own. What Roster does not model (other object
types, flow types other than Always and ObjectAddOnly, input filters, unknown
operators or functions) is refused, naming the mapping. The change is applied
through the job service, so it is audited, and the next cycle is an initial
one. --dry-run prints the resulting job document without applying it.`,
		Example: `  roster job import hr-to-app --format entra -f schema.json --dry-run
  roster job import hr-to-app --format entra -f schema.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch importFormat {
			case formatEntra:
			case "":
				return usageError{fmt.Errorf("--format %s is required: the schema format to read", formatEntra)}
			default:
				return usageError{fmt.Errorf("--format %q: the one format is %s", importFormat, formatEntra)}
			}
			b, err := readSchema(cmd, file)
			if err != nil {
				return err
			}
			s, err := entraschema.Parse(b)
			if err != nil {
				return usageError{err}
			}
			return f.run(cmd, func(e *env) error {
				svc := job.New(e.store)
				cur, err := svc.Get(e.ctx, args[0])
				if err != nil {
					return notFoundHint(err, "job")
				}
				j, changes, err := entraschema.Merge(cur, s)
				if err == nil {
					err = mapping.CheckJob(j)
				}
				if err != nil {
					return usageError{err}
				}
				if changes == nil {
					changes = []string{}
				}
				if dryRun {
					v := struct {
						Job     jobView  `json:"job"`
						Changes []string `json:"changes"`
						Applied bool     `json:"applied"`
					}{viewOf(j), changes, false}
					return e.print(v, func(w io.Writer) {
						printChanges(w, changes)
						fmt.Fprintln(w, "Dry run: not applied. The job would be:")
						enc := json.NewEncoder(w)
						enc.SetIndent("", "  ")
						_ = enc.Encode(viewOf(j).Job)
					})
				}
				_, j, err = svc.Apply(e.ctx, j, actor())
				if err != nil {
					return err
				}
				v := struct {
					Job     jobView  `json:"job"`
					Changes []string `json:"changes"`
					Applied bool     `json:"applied"`
				}{viewOf(j), changes, true}
				return e.print(v, func(w io.Writer) {
					printChanges(w, changes)
					fmt.Fprintf(w, "Imported into job %s (revision %d, %s", j.Name, j.Revision, j.Status)
					if j.NeedsInitial {
						fmt.Fprint(w, ", next cycle initial")
					}
					fmt.Fprintln(w, ")")
				})
			})
		},
	}
	imp.Flags().StringVar(&importFormat, "format", "", "schema format: entra (required)")
	imp.Flags().StringVarP(&file, "file", "f", "", "the schema JSON, or - for standard input")
	imp.Flags().BoolVar(&dryRun, "dry-run", false, "print the resulting job document without applying it")
	_ = imp.MarkFlagRequired("file")
	return []*cobra.Command{export, imp}
}

func printChanges(w io.Writer, changes []string) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "No changes.")
		return
	}
	for _, c := range changes {
		fmt.Fprintln(w, c)
	}
}

// readSchema reads a schema from a file or, for "-", from standard input,
// up to entraschema.MaxSize.
func readSchema(cmd *cobra.Command, file string) ([]byte, error) {
	return readInput(cmd, file, "schema", entraschema.MaxSize)
}
