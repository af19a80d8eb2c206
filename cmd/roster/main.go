// Command roster is Roster's single binary: the SCIM 2.0 service provider and
// its administration commands.
package main

import (
	"os"

	"github.com/rosterhq/roster/internal/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdout, os.Stderr))
}
