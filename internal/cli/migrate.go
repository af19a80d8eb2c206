package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rosterhq/roster/internal/app"
)

func commandMigrate() *cobra.Command {
	var db string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring a database's schema up to date (roster serve also does it at start)",
		Long: `Apply the schema migrations this build has and the database lacks, then check
the schema is current. Several Roster nodes may run it, or start, at once:
migrations are applied under a lock, each exactly once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := app.OpenStore(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Ping(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "The database schema is current.")
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", app.DefaultDB, `database: a SQLite file path, "sqlite:PATH" or "postgres://…"`)
	return cmd
}
