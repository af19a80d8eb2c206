package job

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

const yamlDoc = `
name: hr-to-app
source:
  type: ldap
  url: ldaps://ldap.example.com
  bindDN: cn=roster,dc=example,dc=com
  bindPassword: ${LDAP_PASSWORD}
  baseDN: dc=example,dc=com
  userFilter: (objectClass=person)
target:
  url: https://app.example.com/scim/v2
  token: ${APP_TOKEN}
scope: all
assignments:
  - group: engineering
    role: User
mappings:
  users:
    - target: userName
      source: uid
      matching: true
    - target: displayName
      kind: Expression
      expression: Join(" ", [givenName], [sn])
    - target: title
      kind: Constant
      value: Staff
      flow: ObjectAddOnly
schedule:
  interval: 1h
actions:
  delete: false
  deprovision: delete
`

func TestParseYAML(t *testing.T) {
	j, err := Parse([]byte(yamlDoc), env(map[string]string{"LDAP_PASSWORD": `p"a:ss`, "APP_TOKEN": "tok"}))
	require.NoError(t, err)
	require.Equal(t, "hr-to-app", j.Name)
	require.Equal(t, `p"a:ss`, j.Source.BindPassword, "a secret with quotes and colons is expanded as a value")
	require.Equal(t, "tok", j.Target.Token)
	require.Equal(t, ScopeAll, j.Scope)
	require.Equal(t, []Assignment{{Group: "engineering", Role: "User"}}, j.Assignments)
	require.Len(t, j.Mappings.Users, 3)
	require.Equal(t, Mapping{Target: "userName", Kind: KindDirect, Source: "uid", Matching: true, Precedence: 1, Flow: FlowAlways}, j.Mappings.Users[0])
	require.Equal(t, FlowObjectAddOnly, j.Mappings.Users[2].Flow)
	require.Nil(t, j.Mappings.Groups, "omitted: the defaults")
	require.Equal(t, DefaultMappings(SourceLDAP).Groups, j.EffectiveMappings().Groups)
	require.Equal(t, time.Hour, time.Duration(j.Schedule.Interval))
	require.Equal(t, Actions{Create: true, Update: true, Delete: false, Deprovision: DeprovisionDelete}, j.Actions)
}

func TestParseJSONAndDefaults(t *testing.T) {
	doc := `{"name": "crm", "source": {"type": "scim", "url": "https://src.example/scim", "token": "a"},
		"target": {"url": "http://127.0.0.1:8080/scim/v2", "token": "b"}}`
	j, err := Parse([]byte(doc), env(nil))
	require.NoError(t, err)
	require.Equal(t, ScopeAssigned, j.Scope)
	require.Equal(t, DefaultInterval, time.Duration(j.Schedule.Interval))
	require.Equal(t, Actions{Create: true, Update: true, Delete: true, Deprovision: DeprovisionDisable}, j.Actions)
	require.Nil(t, j.Mappings.Users)
	require.Equal(t, DefaultMappings(SourceSCIM), j.EffectiveMappings())
}

func TestParseErrors(t *testing.T) {
	const src = "source: {type: scim, url: 'https://s.example', token: t}\n"
	const tgt = "target: {url: 'https://t.example', token: t}\n"
	base := "name: j\n" + src + tgt
	users := func(m string) string { return base + "mappings:\n  users:\n" + m }
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"not YAML", "name: [", "parse document"},
		{"empty", "", "empty"},
		{"not a mapping", "- a", "mapping of keys"},
		{"unset variable", "name: j\n" + src + "target: {url: 'https://t.example', token: '${NOPE}'}\n", "target.token: environment variable NOPE is not set"},
		{"unknown top-level key", base + "colour: red\n", "colour: unknown key"},
		{"unknown nested key", "name: j\nsource: {type: scim, url: 'https://s.example', token: t, tokn: x}\n" + tgt, "source.tokn: unknown key"},
		{"unknown key in a mapping", users("    - {target: userName, source: uid, matching: true, sorce: x}\n"), "mappings.users[0].sorce: unknown key"},
		{"bad name", strings.Replace(base, "name: j", "name: Bad_Name", 1), `name "Bad_Name"`},
		{"no name", src + tgt, `name ""`},
		{"no source type", "name: j\nsource: {url: 'https://s.example'}\n" + tgt, "source.type is required"},
		{"unknown source type", "name: j\nsource: {type: csv, url: 'https://s.example'}\n" + tgt, `source.type "csv"`},
		{"push source with a url", "name: j\nscope: all\nsource: {type: push, url: 'https://s.example'}\n" + tgt, "source.url does not apply to a source of type push"},
		{"push source with a token", "name: j\nscope: all\nsource: {type: push, token: t}\n" + tgt, "source.token does not apply"},
		{"push source with assigned scope", "name: j\nsource: {type: push}\n" + tgt, "a push source has no groups"},
		{"scim source without token", "name: j\nsource: {type: scim, url: 'https://s.example'}\n" + tgt, "source.token is required"},
		{"scim source relative url", "name: j\nsource: {type: scim, url: /scim, token: t}\n" + tgt, "source.url"},
		{"scim source with ldap field", "name: j\nsource: {type: scim, url: 'https://s.example', token: t, baseDN: dc=x}\n" + tgt, "source.baseDN does not apply"},
		{"ldap source http url", "name: j\nsource: {type: ldap, url: 'https://l.example', bindDN: a, bindPassword: b, baseDN: c}\n" + tgt, "ldap:// or ldaps://"},
		{"ldap source without baseDN", "name: j\nsource: {type: ldap, url: 'ldap://l.example', bindDN: a, bindPassword: b}\n" + tgt, "source.baseDN is required"},
		{"ldap source without bind", "name: j\nsource: {type: ldap, url: 'ldap://l.example', baseDN: c}\n" + tgt, "source.bindDN and source.bindPassword"},
		{"target ftp url", "name: j\n" + src + "target: {url: 'ftp://t.example', token: t}\n", "target.url"},
		{"target without token", "name: j\n" + src + "target: {url: 'https://t.example'}\n", "target.token (or target.oauth) is required"},
		{"bad dialect", "name: j\n" + src + "target: {url: 'https://t.example', token: t, dialect: azure}\n", `target.dialect "azure"`},
		{"bad deprovision", base + "actions: {deprovision: purge}\n", `actions.deprovision "purge"`},
		{"bad scope", base + "scope: some\n", `scope "some"`},
		{"assignment without group", base + "assignments: [{role: User}]\n", "assignments[0].group is required"},
		{"unknown filter operator", base + "scopingFilters: {users: [{clauses: [{attribute: a, operator: IS NULL}, {attribute: department, operator: LIKE, value: x}]}]}\n",
			`invalid job: scopingFilters.users[0].clauses[1]: operator "LIKE" unknown (use EQUALS, NOT EQUALS,`},
		{"filter regex does not compile", base + "scopingFilters: {groups: [{clauses: [{attribute: a, operator: IS NULL}]}, {clauses: [{attribute: cn, operator: REGEX MATCH, value: '^(?!x)'}]}]}\n",
			`scopingFilters.groups[1].clauses[0]: REGEX MATCH: pattern "^(?!x)" does not compile at offset 1`},
		{"filter value missing", base + "scopingFilters: {users: [{clauses: [{attribute: department, operator: EQUALS}]}]}\n",
			"scopingFilters.users[0].clauses[0]: EQUALS needs a value"},
		{"filter integer operator with text", base + "scopingFilters: {users: [{clauses: [{attribute: employeeId, operator: Greater_Than, value: many}]}]}\n",
			`scopingFilters.users[0].clauses[0]: Greater_Than compares integers: value "many" is not one`},
		{"filter IS TRUE with a value", base + "scopingFilters: {users: [{clauses: [{attribute: enabled, operator: IS TRUE, value: yes}]}]}\n",
			"scopingFilters.users[0].clauses[0]: IS TRUE takes no value"},
		{"filter without clauses", base + "scopingFilters: {users: [{clauses: []}]}\n",
			"scopingFilters.users[0]: a filter needs at least one clause"},
		{"filter unknown key", base + "scopingFilters: {users: [{clauses: [{attribute: a, operator: IS NULL, operand: x}]}]}\n",
			"scopingFilters.users[0].clauses[0].operand: unknown key"},
		{"schedule too short", base + "schedule: {interval: 30s}\n", "schedule.interval 30s"},
		{"schedule not a duration", base + "schedule: {interval: soon}\n", "invalid duration"},
		{"wrong type", "name: [1]\n" + src + tgt, "cannot unmarshal"},
		{"empty mapping list", base + "mappings: {users: []}\n", "mappings.users is empty"},
		{"no matching mapping", users("    - {target: userName, source: uid}\n"), "mark at least one mapping as matching"},
		{"mapping without target", users("    - {source: uid, matching: true}\n"), "mappings.users[0] (target \"\"): target is required"},
		{"duplicate target", users("    - {target: userName, source: uid, matching: true}\n    - {target: USERNAME, source: mail}\n"), "mappings.users[1] (target \"USERNAME\"): the target is mapped already"},
		{"unknown kind", users("    - {target: userName, kind: Magic, source: uid, matching: true}\n"), `kind "Magic"`},
		{"direct without source", users("    - {target: userName, matching: true}\n"), "a Direct mapping has a source"},
		{"constant with source", users("    - {target: userName, source: uid, matching: true}\n    - {target: title, kind: Constant, source: x, value: y}\n"), "mappings.users[1] (target \"title\"): a Constant mapping"},
		{"expression syntax", users("    - {target: userName, source: uid, matching: true}\n    - {target: displayName, kind: Expression, expression: 'Join(\" \", [a]'}\n"), "mappings.users[1] (target \"displayName\"): expression: expr: 1:"},
		{"expression unknown function", users("    - {target: userName, source: uid, matching: true}\n    - {target: displayName, kind: Expression, expression: 'Frobnicate([a])'}\n"), "mappings.users[1] (target \"displayName\"): expression: expr: 1:1"},
		{"bad flow", users("    - {target: userName, source: uid, matching: true, flow: Sometimes}\n"), `flow "Sometimes"`},
		{"precedence without matching", users("    - {target: userName, source: uid, matching: true}\n    - {target: mail, source: mail, precedence: 2}\n"), "only a matching mapping"},
		{"notification address malformed", base + "notifications: {emails: [ops@example.com, 'not an address']}\n", "notifications.emails[1]: address"},
		{"notification address list in one", base + "notifications: {emails: ['a@example.com, b@example.com']}\n", "notifications.emails[0]"},
		{"notification address header injection", base + "notifications: {emails: [\"ops@example.com\\r\\nBcc: x@example.com\"]}\n", "notifications.emails[0]"},
		{"notification address twice", base + "notifications: {emails: [ops@example.com, 'Ops <OPS@example.com>']}\n", "notifications.emails[1]: OPS@example.com is listed twice"},
		{"notification addresses too many", base + "notifications: {emails: [" + strings.Repeat("a@example.com, ", MaxNotificationEmails) + "z@example.com]}\n", "at most 20"},
		{"notification tenant spaces", base + "notifications: {tenant: ' acme'}\n", "notifications.tenant"},
		{"notification unknown key", base + "notifications: {email: [ops@example.com]}\n", "notifications.email: unknown key"},
		{"duplicate precedence", "name: j\n" + src + tgt + "mappings:\n  groups:\n    - {target: displayName, source: displayName, matching: true}\n    - {target: externalId, source: id, matching: true, precedence: 1}\n", "mappings.groups[1] (target \"externalId\"): matching precedence 1 is taken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), env(nil))
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrInvalid), "wraps ErrInvalid: %v", err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseNotifications(t *testing.T) {
	doc := "name: j\nsource: {type: scim, url: 'https://s.example', token: t}\ntarget: {url: 'https://t.example', token: t}\n" +
		"notifications:\n  emails: [ops@example.com, 'Ops Lead <lead@example.com>']\n  tenant: acme\n"
	j, err := Parse([]byte(doc), env(nil))
	require.NoError(t, err)
	require.Equal(t, Notifications{Emails: []string{"ops@example.com", "Ops Lead <lead@example.com>"}, Tenant: "acme"}, j.Notifications)
	r := j.Notifications.Recipients()
	require.Equal(t, []string{"ops@example.com", "Ops Lead <lead@example.com>"}, r.Emails)
	require.Equal(t, "acme", r.Tenant)

	none, err := Parse([]byte("name: j\nsource: {type: scim, url: 'https://s.example', token: t}\ntarget: {url: 'https://t.example', token: t}\n"), env(nil))
	require.NoError(t, err)
	require.Empty(t, none.Notifications.Recipients().Emails)
	require.Empty(t, none.Notifications.Recipients().Tenant)
}

func TestParseScopingFilters(t *testing.T) {
	doc := "name: j\nsource: {type: scim, url: 'https://s.example', token: t}\ntarget: {url: 'https://t.example', token: t}\n" +
		"scopingFilters:\n  users:\n    - clauses:\n        - {attribute: department, operator: EQUALS, value: Sales}\n" +
		"        - {attribute: employeeId, operator: greater_than, value: '1000'}\n" +
		"    - clauses:\n        - {attribute: mail, operator: '&', values: [a@x.org, b@x.org]}\n"
	j, err := Parse([]byte(doc), env(nil))
	require.NoError(t, err)
	require.Equal(t, []ScopingFilter{
		{Clauses: []Clause{{Attribute: "department", Operator: "EQUALS", Value: "Sales"}, {Attribute: "employeeId", Operator: "greater_than", Value: "1000"}}},
		{Clauses: []Clause{{Attribute: "mail", Operator: "&", Values: []string{"a@x.org", "b@x.org"}}}},
	}, j.ScopingFilters.Users)
	require.Nil(t, j.ScopingFilters.Groups)
}

func TestRedacted(t *testing.T) {
	j, err := Parse([]byte(yamlDoc), env(map[string]string{"LDAP_PASSWORD": "pw-secret", "APP_TOKEN": "tok-secret"}))
	require.NoError(t, err)
	r := j.Redacted()
	require.Equal(t, Redacted, r.Source.BindPassword)
	require.Equal(t, Redacted, r.Target.Token)
	require.Empty(t, r.Source.Token, "an absent secret stays absent")
	require.Equal(t, "pw-secret", j.Source.BindPassword, "the original is untouched")

	j.Target.URL = "https://svc:url-secret@app.example.com/scim"
	require.NotContains(t, j.Redacted().Target.URL, "url-secret", "a password in a URL")
	require.Contains(t, j.Redacted().Target.URL, "app.example.com/scim")
}

func TestActiveDirectorySource(t *testing.T) {
	doc := `name: ad
source: {type: ldap, url: 'ldaps://dc1.corp.example', bindDN: 'CN=svc,DC=corp', bindPassword: pw, baseDN: 'DC=corp', directory: activedirectory, delta: usn}
target: {url: 'https://app.example/scim/v2', token: t}
`
	j, err := Parse([]byte(doc), env(nil))
	require.NoError(t, err)
	require.Equal(t, ActiveDirectoryMappings(), j.EffectiveMappings(), "Active Directory's default mappings")
	for _, bad := range []string{"directory: novell", "delta: dirsync"} {
		_, err := Parse([]byte(strings.Replace(doc, "directory: activedirectory, delta: usn", bad, 1)), env(nil))
		require.ErrorIs(t, err, ErrInvalid, bad)
	}
	_, err = Parse([]byte(`name: s
source: {type: scim, url: 'https://s.example', token: t, delta: usn}
target: {url: 'https://app.example/scim/v2', token: t}
`), env(nil))
	require.ErrorContains(t, err, "source.delta does not apply")
}

func TestPushSource(t *testing.T) {
	j, err := Parse([]byte(`name: hr-push
scope: all
source: {type: push}
target: {url: 'https://app.example/scim/v2', token: t}
`), env(nil))
	require.NoError(t, err)
	require.Equal(t, SourcePush, j.Source.Type)
	m := j.EffectiveMappings()
	require.Equal(t, DefaultMappings(SourcePush), m)
	require.Empty(t, m.Groups, "pushed records are users only")
	var anchor *Mapping
	for i := range m.Users {
		if m.Users[i].Target == "externalId" {
			anchor = &m.Users[i]
		}
	}
	require.NotNil(t, anchor)
	require.Equal(t, "externalId", anchor.Source, "the HR record's externalId flows to the target's externalId")
}
