package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scimclient"
)

// Entry is one mapping's value for a source object.
type Entry struct {
	// Path is the target path in canonical form.
	Path string
	// Value is JSON-ready and of the target attribute's type: a string,
	// bool, int64 or float64, a []any for a multi-valued attribute, or
	// nil for null. A Reference's value is the source value (an LDAP DN,
	// a source id) that a Resolver turns into a target id.
	Value any
	// Flow is job.FlowAlways or job.FlowObjectAddOnly.
	Flow string
	// FlowNull clears the target when Value is nil.
	FlowNull bool
	// Reference marks the enterprise manager.
	Reference bool
	// Matching and Precedence come from the mapping.
	Matching   bool
	Precedence int

	t *target
}

// Values are a source object's mapped values, in mapping order.
type Values struct {
	entries []Entry
	core    string
}

// Entries returns the values in mapping order.
func (v Values) Entries() []Entry { return append([]Entry(nil), v.entries...) }

// Key is a matching attribute's value: what finds a source object's
// target object.
type Key struct{ Path, Value string }

// MatchKeys returns the matching entries with a value, lowest precedence
// first (Entra tries matching attributes in that order).
func (v Values) MatchKeys() []Key {
	ms := sortedMatching(v.entries)
	keys := make([]Key, 0, len(ms))
	for _, e := range ms {
		s, _ := coerce(e.Value, schema.String)
		str, _ := s.(string)
		keys = append(keys, Key{Path: e.Path, Value: str})
	}
	return keys
}

// Filter returns the SCIM filter (RFC 7644 §3.4.2.2) that finds the key's
// object: `userName eq "a\"b"`; a filtered path's condition and value are
// combined inside the brackets, `emails[type eq "work" and value eq "x"]`;
// extension paths are fully qualified.
func (k Key) Filter() string {
	p, err := ParsePath(k.Path)
	if err != nil {
		return ""
	}
	val := filter.Value{Kind: filter.KindString, Str: k.Value}
	if len(p.Conds) > 0 {
		sub := &filter.Compare{Path: filter.AttrPath{Name: p.Sub}, Op: filter.Eq, Value: val}
		return (&filter.ValuePath{
			Path:   filter.AttrPath{URI: p.URN, Name: p.Attr},
			Filter: &filter.And{Left: p.condExpr(), Right: sub},
		}).String()
	}
	return (&filter.Compare{Path: filter.AttrPath{URI: p.URN, Name: p.Attr, Sub: p.Sub}, Op: filter.Eq, Value: val}).String()
}

// Resolver turns a reference's source value (an LDAP DN, a source id) into
// the referenced object's target id; ok is false while that object has no
// target id yet.
type Resolver func(sourceValue string) (targetID string, ok bool)

// refValue returns a reference's value as written in a resource:
// {"value": id}.
func refValue(id string) map[string]any { return map[string]any{"value": id} }

// resolveRef resolves an entry's reference value.
func resolveRef(e Entry, resolve Resolver) (string, bool) {
	s, _ := e.Value.(string)
	if resolve == nil || s == "" {
		return "", false
	}
	return resolve(s)
}

// Resource returns the body of a create (POST): schemas (the core schema
// and every extension used) and every non-null value at its path, for both
// flows. A reference the resolver cannot resolve yet is left out and
// returned in pending, for a later update.
func (v Values) Resource(resolve Resolver) (body map[string]any, pending []Entry) {
	body = map[string]any{}
	urns := map[string]bool{}
	for _, e := range v.entries {
		if e.Value == nil {
			continue
		}
		val := e.Value
		if e.Reference {
			id, ok := resolveRef(e, resolve)
			if !ok {
				pending = append(pending, e)
				continue
			}
			val = refValue(id)
		}
		set(body, e.t, val, true)
		if e.t.urn != "" {
			urns[e.t.urn] = true
		}
	}
	body["schemas"] = schemaList(v.core, urns)
	return body, pending
}

func schemaList(core string, urns map[string]bool) []any {
	out := []any{core}
	ext := make([]string, 0, len(urns))
	for u := range urns {
		ext = append(ext, u)
	}
	sort.Strings(ext)
	for _, u := range ext {
		out = append(out, u)
	}
	return out
}

// Change is one attribute an update must change: set Path to New (Old is
// the target's current value, nil when it has none), or remove it.
type Change struct {
	Path     string
	Old, New any
	Remove   bool

	t *target
}

// Diff compares the values with the target object's current resource and
// returns what an update must change. ObjectAddOnly values take part only
// when create is true (the object is being created). A null value removes
// the target's value only when the mapping flows nulls or is a reference;
// otherwise the target keeps its value. Booleans compare by value ("True"
// equals true), strings exactly, a reference by the current
// manager.value against the resolved id. A reference the resolver cannot
// resolve yet is returned in pending.
func (v Values) Diff(current map[string]any, create bool, resolve Resolver) (changes []Change, pending []Entry) {
	for _, e := range v.entries {
		if e.Flow == job.FlowObjectAddOnly && !create {
			continue
		}
		cur, has := get1(current, e.t)
		if e.Value == nil {
			if (e.FlowNull || e.Reference) && has {
				changes = append(changes, Change{Path: e.Path, Old: cur, Remove: true, t: e.t})
			}
			continue
		}
		if e.Reference {
			id, ok := resolveRef(e, resolve)
			if !ok {
				pending = append(pending, e)
				continue
			}
			if has && refID(cur) == id {
				continue
			}
			changes = append(changes, Change{Path: e.Path, Old: cur, New: refValue(id), t: e.t})
			continue
		}
		if has && same(e.Value, cur) {
			continue
		}
		changes = append(changes, Change{Path: e.Path, Old: cur, New: e.Value, t: e.t})
	}
	return changes, pending
}

// refID is a current reference's id: manager.value, or a bare id as some
// targets store it.
func refID(v any) string {
	switch x := v.(type) {
	case map[string]any:
		s, _ := lookup(x, "value")
		str, _ := s.(string)
		return str
	case string:
		return x
	}
	return ""
}

// same compares a desired value with a current one.
func same(want, got any) bool {
	if wl, ok := want.([]any); ok {
		gl, ok := got.([]any)
		if !ok || len(gl) != len(wl) {
			return false
		}
		for i := range wl {
			if !sameScalar(wl[i], gl[i], false) {
				return false
			}
		}
		return true
	}
	return sameScalar(want, got, false)
}

// container returns the object that holds a target's top-level attribute:
// doc itself or its extension object, created when create is set.
func container(doc map[string]any, t *target, create bool) map[string]any {
	if t.urn == "" {
		return doc
	}
	k := key(doc, t.urn)
	if m, ok := doc[k].(map[string]any); ok {
		return m
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	doc[k] = m
	return m
}

// get1 reads a target's current value; has is false when it is absent,
// null or empty.
func get1(doc map[string]any, t *target) (v any, has bool) {
	c := container(doc, t, false)
	if c == nil {
		return nil, false
	}
	v, ok := lookup(c, t.path.Attr)
	if !ok {
		return nil, false
	}
	switch {
	case t.ref:
		if refID(v) == "" {
			return nil, false
		}
		return v, true
	case len(t.path.Conds) > 0:
		elem := findElem(v, t.path.Conds)
		if elem == nil {
			return nil, false
		}
		v, ok = lookup(elem, t.path.Sub)
	case t.path.Sub != "":
		m, _ := v.(map[string]any)
		v, ok = lookup(m, t.path.Sub)
	}
	if !ok || v == nil || v == "" {
		return nil, false
	}
	if l, isList := v.([]any); isList && len(l) == 0 {
		return nil, false
	}
	return v, true
}

// findElem returns the first element of a multi-valued attribute that
// satisfies the conditions.
func findElem(v any, cs []Cond) map[string]any {
	l, _ := v.([]any)
	if i := findIndex(l, cs); i >= 0 {
		return l[i].(map[string]any)
	}
	return nil
}

// findIndex returns the index of the first element that satisfies the
// conditions, or -1.
func findIndex(l []any, cs []Cond) int {
	for i, e := range l {
		if m, ok := e.(map[string]any); ok && matches(cs, m) {
			return i
		}
	}
	return -1
}

// set writes val at a target's path in doc, creating the extension
// object, the complex value or the selected element as needed. With
// created set (a new resource), an element created for
// emails[type eq "work"] gets primary: true when no other is primary.
func set(doc map[string]any, t *target, val any, created bool) {
	c := container(doc, t, true)
	name := key(c, t.path.Attr)
	switch {
	case len(t.path.Conds) > 0:
		l, _ := c[name].([]any)
		elem := findElem(l, t.path.Conds)
		if elem == nil {
			elem = map[string]any{}
			for _, cd := range t.path.Conds {
				elem[cd.Sub] = cd.Value
			}
			if created && t.primary && !anyPrimary(l) {
				elem["primary"] = true
			}
			l = append(l, elem)
			c[name] = l
		}
		elem[key(elem, t.path.Sub)] = val
	case t.path.Sub != "":
		m, ok := c[name].(map[string]any)
		if !ok {
			m = map[string]any{}
			c[name] = m
		}
		m[key(m, t.path.Sub)] = val
	default:
		c[name] = val
	}
}

func anyPrimary(l []any) bool {
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			if p, _ := lookup(m, "primary"); p == true {
				return true
			}
		}
	}
	return false
}

// remove deletes a target's value from doc. An element of a filtered path
// left with nothing but its selecting sub-attributes (and primary) is
// removed too, as is an emptied complex value or extension object.
func remove(doc map[string]any, t *target) {
	c := container(doc, t, false)
	if c == nil {
		return
	}
	name := key(c, t.path.Attr)
	switch {
	case len(t.path.Conds) > 0:
		l, _ := c[name].([]any)
		i := findIndex(l, t.path.Conds)
		if i < 0 {
			return
		}
		elem := l[i].(map[string]any)
		delete(elem, key(elem, t.path.Sub))
		if onlySelectors(elem, t.path.Conds) {
			kept := append(append([]any{}, l[:i]...), l[i+1:]...)
			if len(kept) == 0 {
				delete(c, name)
			} else {
				c[name] = kept
			}
		}
	case t.path.Sub != "":
		m, ok := c[name].(map[string]any)
		if !ok {
			return
		}
		delete(m, key(m, t.path.Sub))
		if len(m) == 0 {
			delete(c, name)
		}
	default:
		delete(c, name)
	}
	if t.urn != "" && len(c) == 0 {
		delete(doc, key(doc, t.urn))
	}
}

func onlySelectors(elem map[string]any, cs []Cond) bool {
	for k := range elem {
		if strings.EqualFold(k, "primary") {
			continue
		}
		sel := false
		for _, c := range cs {
			if strings.EqualFold(k, c.Sub) {
				sel = true
			}
		}
		if !sel {
			return false
		}
	}
	return true
}

// Ops returns the PATCH operations (RFC 7644 §3.5.2) of changes: remove
// for a removal; add for a value the target did not have at a path
// without a value filter; replace otherwise (Entra replaces filtered
// paths, and a target must create the element a filtered replace misses).
func Ops(changes []Change) []scimclient.Op {
	ops := make([]scimclient.Op, 0, len(changes))
	for _, c := range changes {
		switch {
		case c.Remove:
			ops = append(ops, scimclient.Remove(c.Path))
		case c.Old == nil && !strings.Contains(c.Path, "["):
			ops = append(ops, scimclient.Add(c.Path, c.New))
		default:
			ops = append(ops, scimclient.Replace(c.Path, c.New))
		}
	}
	return ops
}

// Apply returns a copy of current with the changes made, as the body of a
// PUT (RFC 7644 §3.5.1): meta and the read-only attributes (groups,
// manager.displayName) are dropped, and schemas lists the extensions
// that hold values. current is not modified. The changes must come from
// Diff: a Change built elsewhere carries no compiled path and is skipped.
func Apply(current map[string]any, changes []Change) map[string]any {
	doc := deepCopy(current).(map[string]any)
	if doc == nil {
		doc = map[string]any{}
	}
	for _, c := range changes {
		t := c.t
		if t == nil {
			continue
		}
		if c.Remove {
			remove(doc, t)
		} else {
			set(doc, t, deepCopy(c.New), false)
		}
	}
	delete(doc, key(doc, "meta"))
	delete(doc, key(doc, "groups"))
	if ent, ok := doc[key(doc, schema.EnterpriseUserURN)].(map[string]any); ok {
		if m, ok := ent[key(ent, "manager")].(map[string]any); ok {
			delete(m, key(m, "displayName"))
		}
	}
	// schemas: keep what is there, add the extensions that now hold values.
	var schemas []any
	if l, ok := doc[key(doc, "schemas")].([]any); ok {
		schemas = l
	}
	has := map[string]bool{}
	for _, s := range schemas {
		if str, ok := s.(string); ok {
			has[strings.ToLower(str)] = true
		}
	}
	var add []string
	for k, v := range doc {
		if _, ok := v.(map[string]any); ok && strings.HasPrefix(strings.ToLower(k), "urn:") && !has[strings.ToLower(k)] {
			add = append(add, k)
		}
	}
	sort.Strings(add)
	for _, u := range add {
		schemas = append(schemas, u)
	}
	if schemas != nil {
		doc[key(doc, "schemas")] = schemas
	}
	return doc
}

// deepCopy copies decoded JSON.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return map[string]any(nil)
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// Hash returns a stable fingerprint of the values: the same paths with
// the same values, flows and null handling give the same hash, whatever
// the order of maps. The engine stores it to skip unchanged objects.
func (v Values) Hash() string {
	// Written by hand rather than through encoding/json: the engine hashes
	// every object of every cycle, and reflection made this a tenth of an
	// initial cycle's CPU.
	// Paths are canonical (Compile spells them as the schema does), so
	// they sort and hash as they are.
	idx := make([]int, len(v.entries))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return v.entries[idx[a]].Path < v.entries[idx[b]].Path })
	h := sha256.New()
	buf := make([]byte, 0, 256)
	for _, i := range idx {
		e := v.entries[i]
		buf = append(buf[:0], e.Path...)
		buf = append(buf, 0)
		buf = append(buf, e.Flow...)
		if e.FlowNull {
			buf = append(buf, 0, 'n')
		}
		buf = append(buf, 0)
		buf = hashValue(buf, e.Value)
		buf = append(buf, 0xff)
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashValue appends a value with its type, so that "1" and 1, "True" and
// true hash apart, and a list's elements stay apart from one string.
func hashValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, 'z')
	case string:
		buf = append(buf, 's')
		buf = strconv.AppendInt(buf, int64(len(x)), 10)
		buf = append(buf, ':')
		return append(buf, x...)
	case bool:
		return strconv.AppendBool(append(buf, 'b'), x)
	case int64:
		return strconv.AppendInt(append(buf, 'i'), x, 10)
	case float64:
		return strconv.AppendFloat(append(buf, 'f'), x, 'g', -1, 64)
	case []any:
		buf = strconv.AppendInt(append(buf, 'l'), int64(len(x)), 10)
		for _, e := range x {
			buf = hashValue(append(buf, ','), e)
		}
		return buf
	default:
		b, err := json.Marshal(x)
		if err != nil {
			b = []byte(fmt.Sprintf("%T:%v", x, x))
		}
		buf = append(buf, 'j')
		buf = strconv.AppendInt(buf, int64(len(b)), 10)
		buf = append(buf, ':')
		return append(buf, b...)
	}
}

// Resolved returns the changes that write pending references (from
// Resource or Diff) now that resolve answers for them, and the references
// it still cannot resolve.
func Resolved(pending []Entry, resolve Resolver) (changes []Change, still []Entry) {
	for _, e := range pending {
		id, ok := resolveRef(e, resolve)
		if !ok {
			still = append(still, e)
			continue
		}
		changes = append(changes, Change{Path: e.Path, New: refValue(id), t: e.t})
	}
	return changes, still
}

// activeTarget is the User's active attribute, which the engine sets
// itself when it disables a user that left the scope or enables one that
// came back, whether or not a mapping writes it.
var activeTarget = func() *target {
	t, err := compileTarget(schema.Default().ResourceType("User"), "active")
	if err != nil {
		panic(err)
	}
	return t
}()

// SetActive returns the change that sets a user's active attribute from
// old to active.
func SetActive(old any, active bool) Change {
	return Change{Path: "active", Old: old, New: active, t: activeTarget}
}
