package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// entraSchema is a user object mapping as Entra's schema editor shows it
// for a SCIM app: userName matching, active from the Switch most vendor
// guides use, and a scoping clause.
const entraSchema = `{
  "synchronizationRules": [{
    "name": "USER_TO_USER", "sourceDirectoryName": "Azure Active Directory", "targetDirectoryName": "customappsso",
    "objectMappings": [{
      "enabled": true, "flowTypes": "Add, Update, Delete",
      "sourceObjectName": "User", "targetObjectName": "User",
      "attributeMappings": [
        {"defaultValue": null, "exportMissingReferences": false, "flowBehavior": "FlowWhenChanged", "flowType": "Always", "matchingPriority": 1,
         "source": {"expression": "[userPrincipalName]", "name": "userPrincipalName", "parameters": [], "type": "Attribute"},
         "targetAttributeName": "userName"},
        {"defaultValue": null, "exportMissingReferences": false, "flowBehavior": "FlowWhenChanged", "flowType": "Always", "matchingPriority": 0,
         "source": {"expression": "Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")", "name": "Switch", "type": "Function",
           "parameters": [
             {"key": "source", "value": {"expression": "[IsSoftDeleted]", "name": "IsSoftDeleted", "parameters": [], "type": "Attribute"}},
             {"key": "key1", "value": {"expression": "\"False\"", "name": "False", "parameters": [], "type": "Constant"}},
             {"key": "value1", "value": {"expression": "\"True\"", "name": "True", "parameters": [], "type": "Constant"}},
             {"key": "key2", "value": {"expression": "\"True\"", "name": "True", "parameters": [], "type": "Constant"}},
             {"key": "value2", "value": {"expression": "\"False\"", "name": "False", "parameters": [], "type": "Constant"}}]},
         "targetAttributeName": "active"},
        {"defaultValue": null, "exportMissingReferences": false, "flowBehavior": "FlowWhenChanged", "flowType": "Always", "matchingPriority": 0,
         "source": {"expression": "[mail]", "name": "mail", "parameters": [], "type": "Attribute"},
         "targetAttributeName": "emails[type eq \"work\"].value"}
      ],
      "scope": {"groups": [{"clauses": [{"operatorName": "EQUALS", "sourceOperandName": "dirSyncEnabled", "targetOperand": {"values": ["True"]}}]}]}
    }]
  }]
}`

// TestJobSchemaCommands drives roster job export and import: the export
// holds no secret, a dry run changes nothing, an import replaces the user
// mappings and scoping (a new revision, the next cycle initial), and what
// Roster does not model is refused naming the mapping.
func TestJobSchemaCommands(t *testing.T) {
	t.Setenv("ROSTER_TEST_LDAP_PASSWORD", "ldap-pw-secret")
	t.Setenv("ROSTER_TEST_APP_TOKEN", "app-token-secret")
	dir := t.TempDir()
	db := filepath.Join(dir, "roster.db")
	doc := filepath.Join(dir, "job.yaml")
	require.NoError(t, os.WriteFile(doc, []byte(jobDoc), 0o600))
	cli(t, 0, "", "job", "apply", "-f", doc, "--db", db)

	out := cli(t, 0, "", "job", "export", "hr-to-app", "--db", db)
	for _, secret := range []string{"ldap-pw-secret", "app-token-secret", "ldap.example.com", "app.example.com"} {
		require.NotContains(t, out, secret)
	}
	var exported struct {
		SynchronizationRules []struct {
			ObjectMappings []struct {
				SourceObjectName  string `json:"sourceObjectName"`
				AttributeMappings []struct {
					TargetAttributeName string `json:"targetAttributeName"`
					MatchingPriority    int    `json:"matchingPriority"`
					Source              struct {
						Type, Name, Expression string
					} `json:"source"`
				} `json:"attributeMappings"`
			} `json:"objectMappings"`
		} `json:"synchronizationRules"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &exported), out)
	users := exported.SynchronizationRules[0].ObjectMappings[0]
	require.Equal(t, "User", users.SourceObjectName)
	require.Equal(t, "userName", users.AttributeMappings[0].TargetAttributeName)
	require.Equal(t, 1, users.AttributeMappings[0].MatchingPriority)
	require.Equal(t, "Function", users.AttributeMappings[1].Source.Type)
	require.Equal(t, "Join", users.AttributeMappings[1].Source.Name)
	require.Equal(t, "Group", exported.SynchronizationRules[0].ObjectMappings[1].SourceObjectName)

	exportFile := filepath.Join(dir, "export.json")
	require.Contains(t, cli(t, 0, "", "job", "export", "hr-to-app", "-o", exportFile, "--db", db), "Exported job hr-to-app's schema to")
	b, err := os.ReadFile(exportFile)
	require.NoError(t, err)
	require.JSONEq(t, out, string(b))

	schema := filepath.Join(dir, "schema.json")
	require.NoError(t, os.WriteFile(schema, []byte(entraSchema), 0o600))
	dry := cli(t, 0, "", "job", "import", "hr-to-app", "--format", "entra", "-f", schema, "--dry-run", "--db", db)
	require.Contains(t, dry, "mappings.users: added active")
	require.Contains(t, dry, "mappings.users: removed displayName")
	require.Contains(t, dry, "Dry run: not applied")
	require.Contains(t, dry, `Switch([IsSoftDeleted], , \"False\", \"True\", \"True\", \"False\")`)
	require.NotContains(t, dry, "ldap-pw-secret")
	require.NotContains(t, dry, "app-token-secret")
	var shown struct {
		Revision int64 `json:"revision"`
	}
	cliJSON(t, &shown, "job", "show", "hr-to-app", "--db", db)
	require.Equal(t, int64(1), shown.Revision, "a dry run applied the import")

	var imported struct {
		Applied bool     `json:"applied"`
		Changes []string `json:"changes"`
		Job     struct {
			Revision       int64 `json:"revision"`
			NeedsInitial   bool  `json:"needsInitial"`
			ScopingFilters struct {
				Users []struct {
					Clauses []struct{ Attribute, Operator, Value string } `json:"clauses"`
				} `json:"users"`
			} `json:"scopingFilters"`
			Source struct {
				BindPassword string `json:"bindPassword"`
			} `json:"source"`
		} `json:"job"`
	}
	cli(t, 0, entraSchema, "job", "import", "hr-to-app", "--format", "entra", "-f", "-", "--db", db) // from standard input
	cliJSON(t, &imported, "job", "import", "hr-to-app", "--format", "entra", "-f", schema, "--db", db)
	require.True(t, imported.Applied)
	require.Empty(t, imported.Changes, "importing the same schema twice changes nothing the second time")
	require.Equal(t, int64(2), imported.Job.Revision)
	require.True(t, imported.Job.NeedsInitial)
	require.Equal(t, "[redacted]", imported.Job.Source.BindPassword)
	require.Equal(t, "dirSyncEnabled", imported.Job.ScopingFilters.Users[0].Clauses[0].Attribute)
	show := cli(t, 0, "", "job", "show", "hr-to-app", "--db", db)
	require.Contains(t, show, `Switch([IsSoftDeleted], , "False", "True", "True", "False")`)
	require.Contains(t, cli(t, 0, "", "audit", "--db", db, "-o", "json"), "hr-to-app")
	// The job kept its secrets: export and re-import agree.
	reexport := cli(t, 0, "", "job", "export", "hr-to-app", "--db", db)
	require.Contains(t, reexport, `"name": "Switch"`)

	// Refusals.
	multi := filepath.Join(dir, "multi.json")
	require.NoError(t, os.WriteFile(multi, []byte(strings.Replace(entraSchema, `"flowType": "Always", "matchingPriority": 0,
         "source": {"expression": "[mail]"`, `"flowType": "MultiValueAddOnly", "matchingPriority": 0,
         "source": {"expression": "[mail]"`, 1)), 0o600))
	msg := cliErr(t, 2, "job", "import", "hr-to-app", "--format", "entra", "-f", multi, "--db", db)
	require.Contains(t, msg, `attributeMappings[2] (target "emails[type eq \"work\"].value")`)
	require.Contains(t, msg, "MultiValueAddOnly")
	require.Contains(t, cliErr(t, 2, "job", "import", "hr-to-app", "-f", schema, "--db", db), "format")
	require.Contains(t, cliErr(t, 2, "job", "import", "hr-to-app", "--format", "okta", "-f", schema, "--db", db), "the one format is entra")
	require.Contains(t, cliErr(t, 2, "job", "export", "hr-to-app", "--format", "okta", "--db", db), "the one format is entra")
	cli(t, 1, "", "job", "export", "nope", "--db", db)
	cliJSON(t, &shown, "job", "show", "hr-to-app", "--db", db)
	require.Equal(t, int64(2), shown.Revision, "a refused import changed the job")
}
