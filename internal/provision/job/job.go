// Package job holds provisioning jobs as stored, audited configuration: the
// job document (where identities come from, where they go, which of them,
// how their attributes map, how often), its parsing and validation, and the
// service through which every change to a job is written together with its
// audit row.
//
// The store keeps a job's document as opaque JSON; this package owns its
// shape. Secrets in the document (an LDAP bind password, SCIM tokens) are
// stored as given, because the engine needs them to connect, and are never
// printed (Redacted) nor written to the audit log.
package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/provision/scope"
)

// ErrInvalid wraps every reason a job document is refused.
var ErrInvalid = errors.New("invalid job")

// DefaultInterval is how often a job runs when its schedule does not say,
// as Entra's provisioning cycle does.
const DefaultInterval = 40 * time.Minute

// MinInterval is the shortest schedule accepted, so that a typo cannot make
// a job hammer its source and target.
const MinInterval = time.Minute

// Redacted replaces a secret when a job is shown.
const Redacted = "[redacted]"

// Status is a job's switch.
type Status string

// The statuses of a job. A new job is Off until it is started.
const (
	StatusOn     Status = "On"
	StatusOff    Status = "Off"
	StatusPaused Status = "Paused"
)

// Scopes: which source objects a job provisions.
const (
	// ScopeAssigned provisions only the users and groups assigned to the
	// job (Entra's default, "sync only assigned users and groups").
	ScopeAssigned = scope.ModeAssigned
	// ScopeAll provisions every user and group the source returns.
	ScopeAll = scope.ModeAll
)

// Source types.
const (
	SourceLDAP = "ldap"
	SourceSCIM = "scim"
	// SourcePush reads the records an HR system pushes to the job's
	// inbound endpoint (or `roster job upload` sends from a CSV file), as
	// Entra's API-driven inbound provisioning does; it has no url.
	SourcePush = "push"
)

// LDAP directory kinds (Source.Directory).
const (
	DirectoryOpenLDAP = "openldap"
	DirectoryAD       = "activedirectory"
)

// Job is a provisioning job: its document and the state the store keeps
// beside it.
type Job struct {
	Name        string       `json:"name"`
	Source      Source       `json:"source"`
	Target      Target       `json:"target"`
	Scope       string       `json:"scope"`
	Assignments []Assignment `json:"assignments,omitempty"`
	// ScopingFilters narrow the users and groups in scope by their source
	// attributes (Entra's attribute scoping filters); an object that stops
	// matching is deprovisioned.
	ScopingFilters ScopingFilters `json:"scopingFilters"`
	// Mappings are the job's attribute mappings; a nil list means the
	// defaults for the source type (DefaultMappings).
	Mappings Mappings `json:"mappings"`
	Schedule Schedule `json:"schedule"`
	Actions  Actions  `json:"actions"`
	// DeletionThreshold holds a cycle's disables and deletes when there are
	// too many (accidental-deletion prevention).
	DeletionThreshold DeletionThreshold `json:"deletionThreshold"`
	// Notifications say who hears of the job's state changes.
	Notifications Notifications `json:"notifications"`

	// The state below is kept by the store, not written in the document.

	Status Status `json:"-"`
	// Revision counts the job's changes, starting at 1.
	Revision int64 `json:"-"`
	// NeedsInitial makes the next cycle an initial one: set when the job
	// is created and whenever its mappings or scoping change, because
	// objects already provisioned must be evaluated again (Entra does the
	// same).
	NeedsInitial bool      `json:"-"`
	Created      time.Time `json:"-"`
	Updated      time.Time `json:"-"`
}

// Notifications are who hears when the job enters quarantine, holds
// deletions, or recovers: e-mail addresses, and a tenant whose events
// (webhooks, feed) carry them.
type Notifications struct {
	Emails []string `json:"emails,omitempty"`
	Tenant string   `json:"tenant,omitempty"`
}

// Recipients returns the notifications as the notifier takes them.
func (n Notifications) Recipients() notify.Recipients {
	return notify.Recipients{Emails: n.Emails, Tenant: n.Tenant}
}

// Source is where a job reads identities: an LDAP directory, a SCIM
// service provider, or the records pushed to the job.
type Source struct {
	Type string `json:"type"`
	URL  string `json:"url"`
	// LDAP.
	BindDN       string `json:"bindDN,omitempty"`
	BindPassword string `json:"bindPassword,omitempty"`
	BaseDN       string `json:"baseDN,omitempty"`
	UserFilter   string `json:"userFilter,omitempty"`
	GroupFilter  string `json:"groupFilter,omitempty"`
	// Directory is "openldap" (the default: inetOrgPerson, groupOfNames,
	// entryUUID) or "activedirectory", which changes the defaults of the
	// filters, the anchor (objectGUID) and the mappings to Active
	// Directory's.
	Directory string `json:"directory,omitempty"`
	// Anchor overrides the attribute holding an entry's immutable id.
	Anchor string `json:"anchor,omitempty"`
	// Delta chooses how an LDAP source finds changes: "auto" (the default:
	// uSNChanged on Active Directory; modifyTimestamp for changes and RFC
	// 4533 for deletes where offered; else modifyTimestamp),
	// "timestampsync", "syncrepl" (opt-in, see docs/provisioning.md),
	// "usn" or "timestamp".
	Delta string `json:"delta,omitempty"`
	// SCIM.
	Token string `json:"token,omitempty"`
	// Job is the name of the job the source belongs to, set when the job
	// is read from the store, not written in the document: a push source
	// reads the records pushed to that job.
	Job string `json:"-"`
}

// Target is the SCIM service provider a job writes to, and how to talk to
// it.
type Target struct {
	URL   string `json:"url"`
	Token string `json:"token,omitempty"`
	// OAuth, instead of Token, fetches bearer tokens with the OAuth 2.0
	// client credentials grant.
	OAuth *OAuthClient `json:"oauth,omitempty"`
	// Dialect shapes requests as an identity provider does: "rfc" (the
	// default), "entra", "entra-062020" or "okta".
	Dialect string `json:"dialect,omitempty"`
	// Update is "patch" (the default) or "put": how a changed object is
	// written.
	Update string `json:"update,omitempty"`
	// MembersPerPatch bounds the members one group PATCH adds or removes;
	// more are sent in several requests. 0 means DefaultMembersPerPatch.
	MembersPerPatch int `json:"membersPerPatch,omitempty"`
	// RequestsPerSecond bounds the request rate to the target; 0 means no
	// bound.
	RequestsPerSecond float64 `json:"requestsPerSecond,omitempty"`
	// Concurrency bounds the requests in flight to the target; 0 means
	// DefaultConcurrency.
	Concurrency int `json:"concurrency,omitempty"`
}

// OAuthClient is an OAuth 2.0 client credentials grant (RFC 6749 §4.4).
type OAuthClient struct {
	TokenURL     string `json:"tokenURL"`
	ClientID     string `json:"clientID"`
	ClientSecret string `json:"clientSecret"`
	Scope        string `json:"scope,omitempty"`
}

// Target defaults.
const (
	// DefaultMembersPerPatch is AWS IAM Identity Center's limit, the
	// smallest of the common targets (ENGINE-NOTES §6).
	DefaultMembersPerPatch = 100
	// DefaultConcurrency is how many requests a job keeps in flight to its
	// target unless told.
	DefaultConcurrency = 8
)

// ScopingFilters are a job's attribute scoping filters per object type. An
// object is in scope when it matches any of the filters (or there are
// none); it matches a filter when it matches every clause of it. Package
// scope defines the operators and evaluates the filters.
type ScopingFilters struct {
	Users  []ScopingFilter `json:"users,omitempty"`
	Groups []ScopingFilter `json:"groups,omitempty"`
}

// ScopingFilter is clauses ANDed.
type ScopingFilter = scope.Filter

// Clause compares one source attribute, as an Entra scoping clause does
// (scope.Operators lists the operators).
type Clause = scope.Clause

// Assignment assigns a source group, and so its members, to the job, with
// an optional role (Entra's app role; empty means "User").
type Assignment = scope.Assignment

// Mappings are a job's attribute mappings per object type.
type Mappings struct {
	Users  []Mapping `json:"users,omitempty"`
	Groups []Mapping `json:"groups,omitempty"`
}

// Mapping kinds.
const (
	KindDirect     = "Direct"
	KindConstant   = "Constant"
	KindExpression = "Expression"
)

// Mapping flows: when a mapping is applied.
const (
	FlowAlways        = "Always"
	FlowObjectAddOnly = "ObjectAddOnly"
)

// Mapping maps one target attribute, as an Entra attribute mapping does.
type Mapping struct {
	// Target is the SCIM attribute written, such as "userName" or
	// `emails[type eq "work"].value`.
	Target string `json:"target"`
	// Kind is Direct (copy Source), Constant (write Value) or Expression
	// (evaluate Expression); empty means Direct.
	Kind       string `json:"kind"`
	Source     string `json:"source,omitempty"`
	Value      string `json:"value,omitempty"`
	Expression string `json:"expression,omitempty"`
	// Matching marks an attribute used to find the target object of a
	// source object; Precedence orders the matching attributes (1 first).
	Matching   bool `json:"matching,omitempty"`
	Precedence int  `json:"precedence,omitempty"`
	// Default is written when the source value is empty.
	Default string `json:"default,omitempty"`
	// Flow is Always or ObjectAddOnly (only when the object is created);
	// empty means Always.
	Flow string `json:"flow"`
	// FlowNull clears the target attribute when the source value becomes
	// empty (Entra's "Flow null values"); otherwise an empty source value
	// leaves the target as it is. References (manager) always flow nulls.
	FlowNull bool `json:"flowNull,omitempty"`
}

// Schedule says how often a job runs.
type Schedule struct {
	Interval Duration `json:"interval"`
}

// Actions are the changes a job may make in its target.
type Actions struct {
	Create bool `json:"create"`
	Update bool `json:"update"`
	Delete bool `json:"delete"`
	// Deprovision is what happens to a user that leaves the scope (is
	// unassigned or stops matching the scoping filters): "disable" (the
	// default; PATCH active=false, as Entra does) or "delete". A user
	// deleted at the source is deleted in the target if Delete is on; a
	// group that leaves the scope is deleted.
	Deprovision string `json:"deprovision,omitempty"`
	// AdoptOn409 links a user whose create the target refuses with 409
	// (uniqueness) to the existing object found by its userName, instead
	// of failing; off by default, as in Entra.
	AdoptOn409 bool `json:"adoptOn409,omitempty"`
}

// Deprovision actions.
const (
	DeprovisionDisable = "disable"
	DeprovisionDelete  = "delete"
)

// DeletionThreshold bounds the disables and deletes one cycle may send;
// beyond it they are held until `roster job allow-deletes` (Entra's
// accidental deletions threshold, Okta's import safeguard).
type DeletionThreshold struct {
	// Count is the most a cycle sends; 0 turns the count off. Default
	// DefaultDeletionThreshold, Entra's.
	Count int `json:"count"`
	// Percent, when set, also holds more than this share of the job's
	// linked objects, from 100 links on (Okta's default is 20).
	Percent float64 `json:"percent,omitempty"`
}

// DefaultDeletionThreshold is Entra's default count.
const DefaultDeletionThreshold = 500

// Duration is a time.Duration written as text ("40m", "1h30m").
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration written as text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is text such as \"40m\": %w", err)
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// defaults returns the job whose fields a document overrides: the default
// scope, schedule and actions.
func defaults() Job {
	return Job{
		Scope:    ScopeAssigned,
		Schedule: Schedule{Interval: Duration(DefaultInterval)},
		Actions:  Actions{Create: true, Update: true, Delete: true, Deprovision: DeprovisionDisable},
		// The count is on unless a document sets it to 0.
		DeletionThreshold: DeletionThreshold{Count: DefaultDeletionThreshold},
	}
}

// Redacted returns a copy of the job with its secrets replaced, for showing
// and for logs.
func (j Job) Redacted() Job {
	j.Source.BindPassword = redact(j.Source.BindPassword)
	j.Source.Token = redact(j.Source.Token)
	j.Target.Token = redact(j.Target.Token)
	if j.Target.OAuth != nil {
		o := *j.Target.OAuth
		o.ClientSecret = redact(o.ClientSecret)
		j.Target.OAuth = &o
	}
	j.Source.URL, j.Target.URL = redactURL(j.Source.URL), redactURL(j.Target.URL)
	return j
}

// View is a job as the CLI and the admin API show it: the document with
// its secrets redacted, and the state the store keeps beside it.
type View struct {
	Job
	Status       Status    `json:"status"`
	Revision     int64     `json:"revision"`
	NeedsInitial bool      `json:"needsInitial"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
}

// ViewOf returns the view of j, its secrets redacted.
func ViewOf(j Job) View {
	r := j.Redacted()
	return View{Job: r, Status: r.Status, Revision: r.Revision, NeedsInitial: r.NeedsInitial, Created: r.Created, Updated: r.Updated}
}

// KeepSecrets returns j with each secret that is written as the redacted
// placeholder (as Redacted shows it) replaced by the secret of stored, so
// that a document read back from the admin API or `roster job show -o json`
// and edited can be applied again without the secrets. A placeholder with no
// secret stored beside it is left as it is; RedactedLeft finds it.
func (j Job) KeepSecrets(stored Job) Job {
	keep := func(v *string, old string) {
		if *v == Redacted && old != "" {
			*v = old
		}
	}
	keep(&j.Source.BindPassword, stored.Source.BindPassword)
	keep(&j.Source.Token, stored.Source.Token)
	keep(&j.Target.Token, stored.Target.Token)
	if j.Target.OAuth != nil && stored.Target.OAuth != nil {
		o := *j.Target.OAuth
		keep(&o.ClientSecret, stored.Target.OAuth.ClientSecret)
		j.Target.OAuth = &o
	}
	if j.Source.URL != stored.Source.URL && j.Source.URL == redactURL(stored.Source.URL) {
		j.Source.URL = stored.Source.URL
	}
	if j.Target.URL != stored.Target.URL && j.Target.URL == redactURL(stored.Target.URL) {
		j.Target.URL = stored.Target.URL
	}
	return j
}

// RedactedLeft names the first secret of j that is still the redacted
// placeholder, or returns "" if there is none.
func (j Job) RedactedLeft() string {
	switch {
	case j.Source.BindPassword == Redacted:
		return "source.bindPassword"
	case j.Source.Token == Redacted:
		return "source.token"
	case j.Target.Token == Redacted:
		return "target.token"
	case j.Target.OAuth != nil && j.Target.OAuth.ClientSecret == Redacted:
		return "target.oauth.clientSecret"
	}
	return ""
}

// redactURL hides a password written in a URL's user information.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return Redacted
}

// EffectiveMappings returns the job's mappings with the defaults of its
// source type in place of an omitted list.
func (j Job) EffectiveMappings() Mappings {
	m, d := j.Mappings, DefaultMappings(j.Source.Type)
	if j.Source.Type == SourceLDAP && j.Source.Directory == DirectoryAD {
		d = ActiveDirectoryMappings()
	}
	if m.Users == nil {
		m.Users = d.Users
	}
	if m.Groups == nil {
		m.Groups = d.Groups
	}
	return m
}

// The enterprise extension's attribute paths the default mappings write.
const (
	enterpriseURN      = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	pathEmployeeNumber = enterpriseURN + ":employeeNumber"
	pathDepartment     = enterpriseURN + ":department"
	pathManager        = enterpriseURN + ":manager"
)

func direct(target, source string) Mapping {
	return Mapping{Target: target, Kind: KindDirect, Source: source, Flow: FlowAlways}
}

func constant(target, value string) Mapping {
	return Mapping{Target: target, Kind: KindConstant, Value: value, Flow: FlowAlways}
}

func expression(target, e string) Mapping {
	return Mapping{Target: target, Kind: KindExpression, Expression: e, Flow: FlowAlways}
}

func matching(m Mapping) Mapping { m.Matching, m.Precedence = true, 1; return m }

// DefaultMappings returns the mappings a job of the source type uses when
// its document omits them, modelled on Entra's defaults: the identity
// attributes, with userName (displayName for groups) matching. For LDAP
// they fit an OpenLDAP inetOrgPerson directory; ActiveDirectoryMappings
// are the ones for Active Directory.
func DefaultMappings(sourceType string) Mappings {
	if sourceType == SourceLDAP {
		return Mappings{
			Users: []Mapping{
				matching(direct("userName", "uid")),
				direct("externalId", "entryUUID"),
				constant("active", "True"),
				direct("displayName", "displayName"),
				direct("title", "title"),
				direct(`emails[type eq "work"].value`, "mail"),
				direct("name.givenName", "givenName"),
				direct("name.familyName", "sn"),
				expression("name.formatted", `Join(" ", [givenName], [sn])`),
				direct(`phoneNumbers[type eq "work"].value`, "telephoneNumber"),
				direct(`phoneNumbers[type eq "mobile"].value`, "mobile"),
				direct(pathEmployeeNumber, "employeeNumber"),
				expression(pathDepartment, "Coalesce([departmentNumber], [ou])"),
				direct(pathManager, "manager"),
			},
			Groups: []Mapping{
				matching(direct("displayName", "cn")),
				direct("externalId", "entryUUID"),
			},
		}
	}
	if sourceType == SourcePush {
		// A pushed record is a SCIM user whose externalId is the HR
		// system's id (the anchor), with a work phone; it carries no groups.
		return Mappings{Users: scimUserMappings("externalId",
			direct(`phoneNumbers[type eq "work"].value`, `phoneNumbers[type eq "work"].value`))}
	}
	return Mappings{
		Users: scimUserMappings("id"),
		Groups: []Mapping{
			matching(direct("displayName", "displayName")),
			direct("externalId", "id"),
		},
	}
}

// scimUserMappings are the user mappings from a SCIM-shaped source: the
// same attribute to the same attribute, externalId from externalIDFrom,
// and extra after the work e-mail.
func scimUserMappings(externalIDFrom string, extra ...Mapping) []Mapping {
	ms := []Mapping{
		matching(direct("userName", "userName")),
		direct("externalId", externalIDFrom),
		direct("active", "active"),
		direct("displayName", "displayName"),
		direct("name.givenName", "name.givenName"),
		direct("name.familyName", "name.familyName"),
		direct("title", "title"),
		direct(`emails[type eq "work"].value`, `emails[type eq "work"].value`),
	}
	ms = append(ms, extra...)
	return append(ms,
		direct(pathEmployeeNumber, pathEmployeeNumber),
		direct(pathDepartment, pathDepartment),
		direct(pathManager, pathManager),
	)
}

// ActiveDirectoryMappings returns Entra-like mappings for an LDAP job
// reading Active Directory: userName from userPrincipalName, active from
// bit 2 (ACCOUNTDISABLE) of userAccountControl, externalId from objectGUID
// (which the LDAP source formats as a GUID string), manager by DN. A
// group's displayName is its displayName, or its cn when AD has none.
func ActiveDirectoryMappings() Mappings {
	return Mappings{
		Users: []Mapping{
			matching(direct("userName", "userPrincipalName")),
			direct("externalId", "objectGUID"),
			expression("active", ActiveDirectoryActive),
			direct("displayName", "displayName"),
			direct("title", "title"),
			direct(`emails[type eq "work"].value`, "mail"),
			direct("name.givenName", "givenName"),
			direct("name.familyName", "sn"),
			direct(`phoneNumbers[type eq "work"].value`, "telephoneNumber"),
			direct(`phoneNumbers[type eq "mobile"].value`, "mobile"),
			direct(pathEmployeeNumber, "employeeID"),
			direct(pathDepartment, "department"),
			direct(pathManager, "manager"),
		},
		Groups: []Mapping{
			matching(expression("displayName", "Coalesce([displayName], [cn])")),
			direct("externalId", "objectGUID"),
		},
	}
}

// ActiveDirectoryActive is the expression of active in
// ActiveDirectoryMappings: "True" unless userAccountControl has
// ACCOUNTDISABLE (2) set (512 → True, 514 → False).
const ActiveDirectoryActive = "Not(CBool(BitAnd([userAccountControl], 2)))"
