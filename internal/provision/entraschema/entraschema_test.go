package entraschema_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/provision/entraschema"
	"github.com/rosterhq/roster/internal/provision/expr"
	"github.com/rosterhq/roster/internal/provision/job"
)

// The object mapping of Microsoft Graph's objectMapping resource page
// (https://learn.microsoft.com/en-us/graph/api/resources/synchronization-objectmapping?view=graph-rest-1.0),
// in a synchronizationSchema; testdata/README.md says more.
const graphExample = "testdata/graph-objectmapping-salesforce.json"

func readExample(t *testing.T) entraschema.Schema {
	t.Helper()
	b, err := os.ReadFile(graphExample)
	if err != nil {
		t.Fatal(err)
	}
	s, err := entraschema.Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

// jobWith is a valid SCIM-source job holding the imported mappings.
func jobWith(im entraschema.Imported) job.Job {
	j := job.Job{Name: "sf", Source: job.Source{Type: job.SourceSCIM, URL: "https://src.example/scim", Token: "src-secret"},
		Target: job.Target{URL: "https://dst.example/scim", Token: "dst-secret"}, Scope: job.ScopeAll,
		Schedule: job.Schedule{Interval: job.Duration(job.DefaultInterval)}}
	j, _ = im.Apply(j)
	return j
}

// TestRoundTripGraphExample imports Microsoft's example, exports the job
// it makes, and requires the export to say what the example says, for
// everything Roster models.
func TestRoundTripGraphExample(t *testing.T) {
	in := readExample(t)
	im, err := entraschema.Import(in)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if !im.HasUsers || im.HasGroups {
		t.Fatalf("HasUsers %t HasGroups %t, want a User mapping only", im.HasUsers, im.HasGroups)
	}
	if im.Actions == nil || !im.Actions.Create || !im.Actions.Update || !im.Actions.Delete {
		t.Fatalf("Actions %+v, want create, update and delete from flowTypes", im.Actions)
	}
	j := jobWith(im)
	if err := j.Validate(); err != nil {
		t.Fatalf("the imported job does not validate: %v", err)
	}
	out, warns := entraschema.Export(j)
	for _, w := range warns {
		if strings.Contains(w, "mappings.users") {
			t.Errorf("unexpected warning for a user mapping: %s", w)
		}
	}
	// Through JSON, as an admin would paste it back.
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"src-secret", "dst-secret", "src.example", "dst.example"} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("the export holds %q", secret)
		}
	}
	back, err := entraschema.Parse(b)
	if err != nil {
		t.Fatalf("Parse(export): %v", err)
	}
	want := in.SynchronizationRules[0].ObjectMappings[0]
	got := objectMappingOf(t, back, entraschema.ObjectUser)
	if got.SourceObjectName != want.SourceObjectName || got.TargetObjectName != want.TargetObjectName {
		t.Errorf("objects %s→%s, want %s→%s", got.SourceObjectName, got.TargetObjectName, want.SourceObjectName, want.TargetObjectName)
	}
	if got.FlowTypes != want.FlowTypes {
		t.Errorf("flowTypes %q, want %q", got.FlowTypes, want.FlowTypes)
	}
	if (got.Scope != nil && len(got.Scope.Groups) > 0) != (want.Scope != nil && len(want.Scope.Groups) > 0) {
		t.Errorf("scope %+v, want %+v", got.Scope, want.Scope)
	}
	if len(got.AttributeMappings) != len(want.AttributeMappings) {
		t.Fatalf("%d attribute mappings, want %d", len(got.AttributeMappings), len(want.AttributeMappings))
	}
	for i := range want.AttributeMappings {
		w, g := semantic(t, want.AttributeMappings[i]), semantic(t, got.AttributeMappings[i])
		if w != g {
			t.Errorf("attributeMappings[%d]:\n got %+v\nwant %+v", i, g, w)
		}
	}
	// Importing the export gives the same job.
	again, err := entraschema.Import(back)
	if err != nil {
		t.Fatalf("Import(export): %v", err)
	}
	if !reflect.DeepEqual(again.Users, im.Users) {
		t.Errorf("re-imported users differ:\n got %+v\nwant %+v", again.Users, im.Users)
	}
}

func objectMappingOf(t *testing.T, s entraschema.Schema, object string) entraschema.ObjectMapping {
	t.Helper()
	for _, r := range s.SynchronizationRules {
		for _, om := range r.ObjectMappings {
			if om.SourceObjectName == object {
				return om
			}
		}
	}
	t.Fatalf("no %s object mapping", object)
	return entraschema.ObjectMapping{}
}

// meaning is what an attribute mapping means to Roster.
type meaning struct {
	Target, FlowType, FlowBehavior string
	MatchingPriority               int
	Kind, What, Default            string
	ExportMissingReferences        bool
}

// semantic reduces an attribute mapping to its meaning: a source with its
// text (a function's parsed, with literals as text: Entra's tree keeps the
// number 8 as the constant "8"), and Entra's "default value only" mapping
// (no source) as the constant it always writes.
func semantic(t *testing.T, am entraschema.AttributeMapping) meaning {
	t.Helper()
	m := meaning{Target: am.TargetAttributeName, FlowType: am.FlowType, FlowBehavior: am.FlowBehavior,
		MatchingPriority: am.MatchingPriority, ExportMissingReferences: am.ExportMissingReferences}
	if am.DefaultValue != nil {
		m.Default = *am.DefaultValue
	}
	switch s := am.Source; {
	case s == nil:
		m.Kind, m.What, m.Default = entraschema.TypeConstant, m.Default, ""
	case s.Type == entraschema.TypeFunction:
		n, err := expr.Parse(s.Expression)
		if err != nil {
			t.Fatalf("%s: expression %q: %v", am.TargetAttributeName, s.Expression, err)
		}
		tree, err := entraschema.Expression(s)
		if err != nil {
			t.Fatalf("%s: tree: %v", am.TargetAttributeName, err)
		}
		m.Kind, m.What = s.Type, n.String()
		if entraschema.Shape(tree) != entraschema.Shape(n) {
			t.Errorf("%s: the tree says %s, the text %s", am.TargetAttributeName, tree, n)
		}
	default:
		m.Kind, m.What = s.Type, s.Name
	}
	return m
}

func TestExpressionTree(t *testing.T) {
	for _, tc := range []struct {
		expr string
		// keys are the top call's parameter keys.
		keys []string
		// text is the expression written from the tree alone, when it
		// differs from expr (numbers become text constants).
		text string
		warn bool
	}{
		{expr: `Append([mailNickname], "@contoso.com")`, keys: []string{"source", "suffix"}},
		{expr: `Switch([IsSoftDeleted], , "False", "True", "True", "False")`, keys: []string{"source", "key1", "value1", "key2", "value2"}},
		{expr: `Switch([country], "Other", "US", "United States", "DE", "Germany")`, keys: []string{"source", "defaultValue", "key1", "value1", "key2", "value2"}},
		{expr: `Join(" ", [givenName], [sn])`, keys: []string{"separator", "source1", "source2"}},
		{expr: `IIF([country] = "US", "domestic", "foreign")`, keys: []string{"condition", "valueIfTrue", "valueIfFalse"}, warn: true},
		{expr: `SingleAppRoleAssignment([appRoleAssignments])`, keys: []string{"source"}},
		{expr: `AssertiveAppRoleAssignmentsComplex([appRoleAssignments])`, keys: []string{"source"}},
		// A trailing omitted argument has no parameter, so the tree alone
		// cannot say it was there.
		{expr: `ToLower(Append(Join(".", [givenName], [sn]), "@contoso.com"), )`, keys: []string{"source"},
			text: `ToLower(Append(Join(".", [givenName], [sn]), "@contoso.com"))`},
		{expr: `Append([displayName], " \"quoted\" \\ back")`, keys: []string{"source", "suffix"}},
		{expr: `Mid([userPrincipalName], 1, 8)`, keys: []string{"source", "start", "length"}, text: `Mid([userPrincipalName], "1", "8")`},
		{expr: `Replace([preferredLanguage], "-", , , "_", , )`, keys: []string{"source", "oldValue", "replacementValue"}},
		{expr: `Coalesce([mail], [userPrincipalName], "none")`, keys: []string{"source1", "source2", "source3"}},
		{expr: `SelectUniqueValue(Join("@", [a], "x.com"), Join("@", [b], "x.com"))`, keys: []string{"rule1", "rule2"}},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			n, err := expr.Parse(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			src, warns := entraschema.Tree(n)
			if (len(warns) > 0) != tc.warn {
				t.Errorf("warnings %q, want some: %t", warns, tc.warn)
			}
			if src.Type != entraschema.TypeFunction || src.Expression != n.String() {
				t.Errorf("top node %s %q, want Function %q", src.Type, src.Expression, n.String())
			}
			var keys []string
			for _, p := range src.Parameters {
				keys = append(keys, p.Key)
			}
			if !reflect.DeepEqual(keys, tc.keys) {
				t.Errorf("keys %q, want %q", keys, tc.keys)
			}
			back, err := entraschema.Expression(src)
			if err != nil {
				t.Fatalf("Expression(tree): %v", err)
			}
			want := tc.text
			if want == "" {
				want = n.String()
			}
			if back.String() != want {
				t.Errorf("tree → %s, want %s", back, want)
			}
			// The tree survives JSON.
			b, _ := json.Marshal(src)
			var again entraschema.Source
			if err := json.Unmarshal(b, &again); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&again, src) {
				t.Errorf("JSON round trip changed the tree: %s", b)
			}
		})
	}
}

// TestTreeConstants pins how constants and attributes are written.
func TestTreeConstants(t *testing.T) {
	n, _ := expr.Parse(`Append([mail], "say \"hi\"")`)
	src, _ := entraschema.Tree(n)
	c := src.Parameters[1].Value
	if c.Type != entraschema.TypeConstant || c.Name != `say "hi"` || c.Expression != `"say \"hi\""` {
		t.Errorf("constant %+v", c)
	}
	a := src.Parameters[0].Value
	if a.Type != entraschema.TypeAttribute || a.Name != "mail" || a.Expression != "[mail]" {
		t.Errorf("attribute %+v", a)
	}
}

// TestScopeRoundTrip exports scoping filters and imports them back.
func TestScopeRoundTrip(t *testing.T) {
	j := jobWith(entraschema.Imported{})
	j.ScopingFilters.Users = []job.ScopingFilter{
		{Clauses: []job.Clause{
			{Attribute: "dirSyncEnabled", Operator: "EQUALS", Value: "True"},
			{Attribute: "department", Operator: "NOT EQUALS", Value: "Temp"},
			{Attribute: "accountEnabled", Operator: "IS TRUE"},
		}},
		{Clauses: []job.Clause{
			{Attribute: "employeeId", Operator: "Greater_Than", Value: "1000"},
			{Attribute: "country", Operator: "Includes", Values: []string{"US", "CA"}},
			{Attribute: "mail", Operator: "REGEX MATCH", Value: `.*@contoso\.com$`},
			{Attribute: "manager", Operator: "IS NOT NULL"},
		}},
	}
	j.ScopingFilters.Groups = []job.ScopingFilter{{Clauses: []job.Clause{{Attribute: "displayName", Operator: "ENDS_WITH", Value: "-app"}}}}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	s, _ := entraschema.Export(j)
	users := objectMappingOf(t, s, entraschema.ObjectUser)
	if got := users.Scope.Groups[0].Clauses[1].OperatorName; got != "NOT_EQUALS" {
		t.Errorf("operator written %q, want NOT_EQUALS", got)
	}
	if got := users.Scope.Groups[0].Clauses[2].TargetOperand; got == nil || len(got.Values) != 0 {
		t.Errorf("IS TRUE operand %+v, want no values", got)
	}
	b, _ := json.Marshal(s)
	back, err := entraschema.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	im, err := entraschema.Import(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(im.UserFilters, j.ScopingFilters.Users) || !reflect.DeepEqual(im.GroupFilters, j.ScopingFilters.Groups) {
		t.Errorf("filters changed:\n got %+v %+v\nwant %+v %+v", im.UserFilters, im.GroupFilters, j.ScopingFilters.Users, j.ScopingFilters.Groups)
	}
}

// TestImportEntraClause reads a clause as Graph writes it, with the
// operator in Graph's spelling.
func TestImportEntraClause(t *testing.T) {
	doc := `{"synchronizationRules":[{"objectMappings":[{"sourceObjectName":"User","targetObjectName":"User",
	  "attributeMappings":[{"source":{"type":"Attribute","name":"userPrincipalName"},"targetAttributeName":"userName","matchingPriority":1}],
	  "scope":{"groups":[{"clauses":[{"operatorName":"EQUALS","sourceOperandName":"dirSyncEnabled","targetOperand":{"values":["True"]}},
	    {"operatorName":"is_not_null","sourceOperandName":"mail","targetOperand":null}]}]}}]}]}`
	s, err := entraschema.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	im, err := entraschema.Import(s)
	if err != nil {
		t.Fatal(err)
	}
	want := []job.ScopingFilter{{Clauses: []job.Clause{
		{Attribute: "dirSyncEnabled", Operator: "EQUALS", Value: "True"},
		{Attribute: "mail", Operator: "IS NOT NULL"},
	}}}
	if !reflect.DeepEqual(im.UserFilters, want) {
		t.Errorf("filters %+v, want %+v", im.UserFilters, want)
	}
	if im.Actions != nil {
		t.Errorf("Actions %+v with no flowTypes, want nil (the job's kept)", im.Actions)
	}
}

func TestImportRefuses(t *testing.T) {
	const userMapping = `{"source":{"type":"Attribute","name":"userPrincipalName"},"targetAttributeName":"userName","matchingPriority":1}`
	schema := func(objectMappings string) string {
		return `{"synchronizationRules":[{"objectMappings":[` + objectMappings + `]}]}`
	}
	user := func(mappings, extra string) string {
		return `{"sourceObjectName":"User","targetObjectName":"User"` + extra + `,"attributeMappings":[` + mappings + `]}`
	}
	for _, tc := range []struct {
		name, doc string
		msg       []string
	}{
		{"not an object", `[1]`, []string{"JSON object"}},
		{"no rules", `{"directories":[]}`, []string{"synchronizationRules"}},
		{"trailing data", `{"synchronizationRules":[]} {}`, []string{"after the JSON value"}},
		{"other object", schema(`{"sourceObjectName":"Contact","targetObjectName":"Contact","attributeMappings":[]}`), []string{"Contact"}},
		{"object to other object", schema(`{"sourceObjectName":"User","targetObjectName":"Account","attributeMappings":[]}`), []string{"Account"}},
		{"disabled", schema(user(userMapping, `,"enabled":false`)), []string{"disabled"}},
		{"two user mappings", schema(user(userMapping, "") + "," + user(userMapping, "")), []string{"second User"}},
		{"flow type", schema(user(`{"source":{"type":"Attribute","name":"proxyAddresses"},"targetAttributeName":"emails","flowType":"MultiValueAddOnly"}`, "")),
			[]string{`target "emails"`, "MultiValueAddOnly"}},
		{"flow behavior", schema(user(`{"source":{"type":"Attribute","name":"mail"},"targetAttributeName":"title","flowBehavior":"FlowAlways"}`, "")),
			[]string{`target "title"`, "FlowAlways"}},
		{"export missing references", schema(user(`{"source":{"type":"Attribute","name":"manager"},"targetAttributeName":"manager","exportMissingReferences":true}`, "")),
			[]string{`target "manager"`, "exportMissingReferences"}},
		{"nothing to map", schema(user(`{"source":null,"targetAttributeName":"title"}`, "")), []string{`target "title"`, "nothing to map"}},
		{"source type", schema(user(`{"source":{"type":"Lookup","name":"x"},"targetAttributeName":"title"}`, "")), []string{`target "title"`, "Lookup"}},
		{"tree and text disagree", schema(user(`{"source":{"type":"Function","name":"ToLower","expression":"ToUpper([mail])",
			"parameters":[{"key":"source","value":{"type":"Attribute","name":"mail"}}]},"targetAttributeName":"title"}`, "")),
			[]string{`target "title"`, "disagree"}},
		{"unknown function", schema(user(`{"source":{"type":"Function","name":"Frobnicate","parameters":[{"key":"source","value":{"type":"Attribute","name":"mail"}}]},"targetAttributeName":"title"}`, "")),
			[]string{`target "title"`, "Frobnicate"}},
		{"null parameter", schema(user(`{"source":{"type":"Function","name":"ToLower","parameters":[{"key":"source","value":null}]},"targetAttributeName":"title"}`, "")),
			[]string{`target "title"`, "null"}},
		{"input filters", schema(user(userMapping, `,"scope":{"inputFilterGroups":[{"clauses":[]}]}`)), []string{"inputFilterGroups"}},
		{"operator", schema(user(userMapping, `,"scope":{"groups":[{"clauses":[{"operatorName":"IS_MEMBER_OF","sourceOperandName":"x","targetOperand":{"values":["g"]}}]}]}`)),
			[]string{"groups[0].clauses[0]", "IS_MEMBER_OF"}},
		{"operand", schema(user(userMapping, `,"scope":{"groups":[{"clauses":[{"operatorName":"Greater_Than","sourceOperandName":"x","targetOperand":{"values":["ten"]}}]}]}`)),
			[]string{"scope.groups[0].clauses[0]"}},
		{"flow types", schema(user(userMapping, `,"flowTypes":"Add, Update"`) + `,{"sourceObjectName":"Group","targetObjectName":"Group","flowTypes":"Add, Update, Delete","attributeMappings":[]}`),
			[]string{"flowTypes differ"}},
		{"bad flow type", schema(user(userMapping, `,"flowTypes":"Add, Rename"`)), []string{"Rename"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := entraschema.Parse([]byte(tc.doc))
			if err == nil {
				_, err = entraschema.Import(s)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, entraschema.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}

// TestExportWarnings: what the schema cannot say is reported.
func TestExportWarnings(t *testing.T) {
	j := jobWith(entraschema.Imported{})
	j.Mappings.Users = []job.Mapping{
		{Target: "userName", Kind: job.KindDirect, Source: "uid", Matching: true},
		{Target: "title", Kind: job.KindDirect, Source: "title", FlowNull: true},
		{Target: "nickName", Kind: job.KindExpression, Expression: `IIF([c] = "US", "a", "b")`},
	}
	j.Assignments = []job.Assignment{{Group: "staff"}}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	_, warns := entraschema.Export(j)
	all := strings.Join(warns, "\n")
	for _, want := range []string{`mappings.users[1] (target "title"): flowNull`, `mappings.users[2] (target "nickName"): the comparison`, "assignments (1)", "scope (all)"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings do not say %q:\n%s", want, all)
		}
	}
}

// TestApply: the import replaces mappings and filters, keeps a mapping's
// flowNull and the job's secrets, and says what changed.
func TestApply(t *testing.T) {
	j := jobWith(entraschema.Imported{})
	j.Mappings.Users = []job.Mapping{
		{Target: "userName", Kind: job.KindDirect, Source: "uid", Matching: true, Precedence: 1, Flow: job.FlowAlways},
		{Target: "title", Kind: job.KindDirect, Source: "title", FlowNull: true, Flow: job.FlowAlways},
		{Target: "nickName", Kind: job.KindDirect, Source: "cn", Flow: job.FlowAlways},
	}
	im := entraschema.Imported{HasUsers: true, Users: []job.Mapping{
		{Target: "userName", Kind: job.KindDirect, Source: "uid", Matching: true, Precedence: 1, Flow: job.FlowAlways},
		{Target: "title", Kind: job.KindDirect, Source: "jobTitle", Flow: job.FlowAlways},
		{Target: "displayName", Kind: job.KindDirect, Source: "displayName", Flow: job.FlowAlways},
	}}
	got, changes := im.Apply(j)
	if !got.Mappings.Users[1].FlowNull {
		t.Error("flowNull of title was not kept")
	}
	if got.Target.Token != "dst-secret" || got.Source.Token != "src-secret" {
		t.Error("secrets changed")
	}
	if !reflect.DeepEqual(got.Mappings.Groups, j.Mappings.Groups) {
		t.Error("group mappings changed with no Group object mapping")
	}
	want := []string{"mappings.users: changed title", "mappings.users: added displayName", "mappings.users: removed nickName"}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("changes %q, want %q", changes, want)
	}
}
