package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rosterhq/roster/internal/provision/expr"
	"github.com/rosterhq/roster/internal/provision/notify"
	"github.com/rosterhq/roster/internal/provision/scope"
)

// Parse reads a job document, YAML or JSON (JSON is YAML), expands
// ${NAME} in its string values from lookupEnv so that secrets can stay out
// of the file, refuses keys it does not know (naming their path), fills the
// defaults and validates the job. Every error wraps ErrInvalid.
func Parse(doc []byte, lookupEnv func(string) (string, bool)) (Job, error) {
	var raw any
	if err := yaml.Unmarshal(doc, &raw); err != nil {
		return Job{}, fmt.Errorf("%w: parse document: %v", ErrInvalid, err)
	}
	if raw == nil {
		return Job{}, fmt.Errorf("%w: the document is empty", ErrInvalid)
	}
	if _, ok := raw.(map[string]any); !ok {
		return Job{}, fmt.Errorf("%w: the document must be a mapping of keys to values", ErrInvalid)
	}
	// Expanding the decoded strings, not the text, keeps a secret that
	// contains quotes or colons from changing the document's structure.
	raw, err := expand(raw, "", lookupEnv)
	if err != nil {
		return Job{}, err
	}
	if err := checkKeys(raw, reflect.TypeFor[Job](), ""); err != nil {
		return Job{}, err
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return Job{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	j := defaults()
	if err := json.Unmarshal(b, &j); err != nil {
		return Job{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := j.Validate(); err != nil {
		return Job{}, err
	}
	return j, nil
}

// varRE matches ${NAME}.
var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${NAME} in every string value (keys are left alone).
func expand(v any, path string, lookupEnv func(string) (string, bool)) (any, error) {
	switch v := v.(type) {
	case string:
		var missing string
		out := varRE.ReplaceAllStringFunc(v, func(m string) string {
			name := m[2 : len(m)-1]
			val, ok := lookupEnv(name)
			if !ok && missing == "" {
				missing = name
			}
			return val
		})
		if missing != "" {
			return nil, fmt.Errorf("%w: %s: environment variable %s is not set", ErrInvalid, orRoot(path), missing)
		}
		return out, nil
	case map[string]any:
		for k, e := range v {
			x, err := expand(e, join(path, k), lookupEnv)
			if err != nil {
				return nil, err
			}
			v[k] = x
		}
		return v, nil
	case []any:
		for i, e := range v {
			x, err := expand(e, fmt.Sprintf("%s[%d]", path, i), lookupEnv)
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
		return v, nil
	}
	return v, nil
}

// checkKeys refuses a key that no field of t is named by (its json tag),
// at any depth, naming the key's path.
func checkKeys(v any, t reflect.Type, path string) error {
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, which decoding reports
		}
		fields := map[string]reflect.Type{}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				known := make([]string, 0, len(fields))
				for n := range fields {
					known = append(known, n)
				}
				sort.Strings(known)
				return fmt.Errorf("%w: %s: unknown key (known here: %s)", ErrInvalid, join(path, k), strings.Join(known, ", "))
			}
			if err := checkKeys(m[k], ft, join(path, k)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		s, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, e := range s {
			if err := checkKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "document"
	}
	return path
}

// nameRE is a job name: a lowercase slug, as it appears in commands and
// URLs.
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// validate checks the target's credentials and options.
func (t *Target) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: target."+format, append([]any{ErrInvalid}, args...)...)
	}
	switch {
	case t.Token == "" && t.OAuth == nil:
		return bad("token (or target.oauth) is required")
	case t.Token != "" && t.OAuth != nil:
		return bad("token and target.oauth: give one")
	}
	if o := t.OAuth; o != nil {
		if err := checkHTTPURL("target.oauth.tokenURL", o.TokenURL); err != nil {
			return err
		}
		if o.ClientID == "" || o.ClientSecret == "" {
			return bad("oauth: clientID and clientSecret are required")
		}
	}
	switch t.Dialect {
	case "", "rfc", "entra", "entra-062020", "okta":
	default:
		return bad("dialect %q: use rfc, entra, entra-062020 or okta", t.Dialect)
	}
	switch t.Update {
	case "", "patch", "put":
	default:
		return bad("update %q: use patch or put", t.Update)
	}
	if t.MembersPerPatch < 0 || t.Concurrency < 0 || t.RequestsPerSecond < 0 {
		return bad("membersPerPatch, concurrency and requestsPerSecond cannot be negative")
	}
	return nil
}

// Validate checks a job and fills the defaults of its mappings' kind and
// flow. Every error wraps ErrInvalid and names the field.
func (j *Job) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	if !nameRE.MatchString(j.Name) {
		return bad("name %q: use 1 to 63 lowercase letters, digits and inner hyphens", j.Name)
	}
	if err := j.Source.validate(); err != nil {
		return err
	}
	if err := checkHTTPURL("target.url", j.Target.URL); err != nil {
		return err
	}
	if err := j.Target.validate(); err != nil {
		return err
	}
	if t := j.DeletionThreshold; t.Count < 0 || t.Percent < 0 || t.Percent > 100 {
		return bad("deletionThreshold: count must be 0 (off) or more, percent between 0 (off) and 100")
	}
	switch j.Actions.Deprovision {
	case "":
		j.Actions.Deprovision = DeprovisionDisable
	case DeprovisionDisable, DeprovisionDelete:
	default:
		return bad("actions.deprovision %q: use %s or %s", j.Actions.Deprovision, DeprovisionDisable, DeprovisionDelete)
	}
	if j.Scope != ScopeAssigned && j.Scope != ScopeAll {
		return bad("scope %q: use %s or %s", j.Scope, ScopeAssigned, ScopeAll)
	}
	if j.Source.Type == SourcePush && j.Scope != ScopeAll {
		// Pushed records are users only, so no group can be assigned.
		return bad("scope %q: a push source has no groups to assign; use scope: %s (and scoping filters to narrow it)", j.Scope, ScopeAll)
	}
	for i, a := range j.Assignments {
		if strings.TrimSpace(a.Group) == "" {
			return bad("assignments[%d].group is required", i)
		}
	}
	if err := validateFilters("scopingFilters.users", j.ScopingFilters.Users); err != nil {
		return err
	}
	if err := validateFilters("scopingFilters.groups", j.ScopingFilters.Groups); err != nil {
		return err
	}
	if d := time.Duration(j.Schedule.Interval); d < MinInterval {
		return bad("schedule.interval %s: the shortest is %s", d, MinInterval)
	}
	if err := validateMappings("mappings.users", j.Mappings.Users); err != nil {
		return err
	}
	if err := validateMappings("mappings.groups", j.Mappings.Groups); err != nil {
		return err
	}
	return j.Notifications.validate()
}

// MaxNotificationEmails bounds a job's notification addresses: a notice
// goes to people who can act on it, not to a mailing list's members.
const MaxNotificationEmails = 20

// validate checks the notification addresses: each one address net/mail
// reads, no address twice, at most MaxNotificationEmails. Whether the
// tenant exists is checked by Service.Apply, which can read tenants.
func (n Notifications) validate() error {
	if len(n.Emails) > MaxNotificationEmails {
		return fmt.Errorf("%w: notifications.emails: %d addresses, at most %d", ErrInvalid, len(n.Emails), MaxNotificationEmails)
	}
	seen := make(map[string]bool, len(n.Emails))
	for i, e := range n.Emails {
		a, err := notify.ParseAddress(e)
		if err != nil {
			return fmt.Errorf("%w: notifications.emails[%d]: %w", ErrInvalid, i, err)
		}
		key := strings.ToLower(a.Address)
		if seen[key] {
			return fmt.Errorf("%w: notifications.emails[%d]: %s is listed twice", ErrInvalid, i, a.Address)
		}
		seen[key] = true
	}
	if t := n.Tenant; t != "" && strings.TrimSpace(t) != t {
		return fmt.Errorf("%w: notifications.tenant %q: a tenant name has no surrounding spaces", ErrInvalid, t)
	}
	return nil
}

func (s Source) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	// only refuses a field of the other source type, which would otherwise
	// be silently ignored.
	only := func(typ string, fields map[string]string) error {
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if fields[k] != "" {
				return bad("source.%s does not apply to a source of type %s", k, typ)
			}
		}
		return nil
	}
	switch s.Type {
	case SourceLDAP:
		u, err := url.Parse(s.URL)
		if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
			return bad("source.url %q: an LDAP source needs an ldap:// or ldaps:// URL with a host", s.URL)
		}
		if s.BaseDN == "" {
			return bad("source.baseDN is required for an LDAP source")
		}
		if s.BindDN == "" || s.BindPassword == "" {
			return bad("source.bindDN and source.bindPassword are required for an LDAP source")
		}
		switch s.Directory {
		case "", DirectoryOpenLDAP, DirectoryAD:
		default:
			return bad("source.directory %q: use %s or %s", s.Directory, DirectoryOpenLDAP, DirectoryAD)
		}
		switch s.Delta {
		case "", "auto", "syncrepl", "usn", "timestamp", "timestampsync":
		default:
			return bad("source.delta %q: use auto, timestampsync, syncrepl, usn or timestamp", s.Delta)
		}
		return only(s.Type, map[string]string{"token": s.Token})
	case SourceSCIM:
		if err := checkHTTPURL("source.url", s.URL); err != nil {
			return err
		}
		if s.Token == "" {
			return bad("source.token is required for a SCIM source")
		}
		return only(s.Type, map[string]string{"bindDN": s.BindDN, "bindPassword": s.BindPassword,
			"baseDN": s.BaseDN, "userFilter": s.UserFilter, "groupFilter": s.GroupFilter,
			"directory": s.Directory, "anchor": s.Anchor, "delta": s.Delta})
	case SourcePush:
		return only(s.Type, map[string]string{"url": s.URL, "token": s.Token, "bindDN": s.BindDN,
			"bindPassword": s.BindPassword, "baseDN": s.BaseDN, "userFilter": s.UserFilter,
			"groupFilter": s.GroupFilter, "directory": s.Directory, "anchor": s.Anchor, "delta": s.Delta})
	case "":
		return bad("source.type is required: %s, %s or %s", SourceLDAP, SourceSCIM, SourcePush)
	}
	return bad("source.type %q: use %s, %s or %s", s.Type, SourceLDAP, SourceSCIM, SourcePush)
}

// validateFilters compiles one object type's scoping filters, naming the
// clause refused.
func validateFilters(path string, fs []ScopingFilter) error {
	if _, err := scope.Compile(fs); err != nil {
		var ce *scope.ClauseError
		if errors.As(err, &ce) {
			return fmt.Errorf("%w: %s%s", ErrInvalid, path, ce.Error())
		}
		return fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	return nil
}

// checkHTTPURL requires an absolute http or https URL with a host.
func checkHTTPURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %s %q: use an absolute http:// or https:// URL", ErrInvalid, field, s)
	}
	return nil
}

// validateMappings checks one object type's mappings and fills their
// defaults. An omitted list (the defaults) is valid.
func validateMappings(path string, ms []Mapping) error {
	if ms == nil {
		return nil
	}
	bad := func(i int, m Mapping, format string, args ...any) error {
		return fmt.Errorf("%w: %s[%d] (target %q): "+format, append([]any{ErrInvalid, path, i, m.Target}, args...)...)
	}
	if len(ms) == 0 {
		return fmt.Errorf("%w: %s is empty; omit it to use the defaults", ErrInvalid, path)
	}
	targets := map[string]int{}
	precedences := map[int]int{}
	matching := 0
	for i := range ms {
		m := &ms[i]
		if strings.TrimSpace(m.Target) == "" {
			return bad(i, *m, "target is required")
		}
		if prev, ok := targets[strings.ToLower(m.Target)]; ok {
			return bad(i, *m, "the target is mapped already by %s[%d]", path, prev)
		}
		targets[strings.ToLower(m.Target)] = i
		if m.Kind == "" {
			m.Kind = KindDirect
		}
		if m.Flow == "" {
			m.Flow = FlowAlways
		}
		switch m.Kind {
		case KindDirect:
			if m.Source == "" || m.Value != "" || m.Expression != "" {
				return bad(i, *m, "a Direct mapping has a source and no value or expression")
			}
		case KindConstant:
			if m.Source != "" || m.Expression != "" {
				return bad(i, *m, "a Constant mapping has a value and no source or expression")
			}
		case KindExpression:
			if m.Expression == "" || m.Source != "" || m.Value != "" {
				return bad(i, *m, "an Expression mapping has an expression and no source or value")
			}
			n, err := expr.Parse(m.Expression)
			if err == nil {
				err = expr.Check(n)
			}
			if err != nil {
				return bad(i, *m, "expression: %v", err)
			}
		default:
			return bad(i, *m, "kind %q: use %s, %s or %s", m.Kind, KindDirect, KindConstant, KindExpression)
		}
		if m.Flow != FlowAlways && m.Flow != FlowObjectAddOnly {
			return bad(i, *m, "flow %q: use %s or %s", m.Flow, FlowAlways, FlowObjectAddOnly)
		}
		if m.Precedence < 0 || (m.Precedence != 0 && !m.Matching) {
			return bad(i, *m, "precedence %d: only a matching mapping has one, from 1", m.Precedence)
		}
		if m.Matching {
			matching++
			if m.Precedence == 0 {
				m.Precedence = 1
			}
			if prev, ok := precedences[m.Precedence]; ok {
				return bad(i, *m, "matching precedence %d is taken by %s[%d]", m.Precedence, path, prev)
			}
			precedences[m.Precedence] = i
		}
	}
	if matching == 0 {
		return fmt.Errorf("%w: %s: mark at least one mapping as matching, to find the target object of a source object", ErrInvalid, path)
	}
	return nil
}
