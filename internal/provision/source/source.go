package source

import (
	"context"
	"errors"
	"strings"
)

// Kind is the kind of a source object.
type Kind string

// The kinds of object a source holds.
const (
	User  Kind = "user"
	Group Kind = "group"
)

// Values are one attribute's values: one element for a single-valued
// attribute, every value in the source's order for a multi-valued one. A
// value is what the source's format decodes to: a string, bool, number
// (json.Number for SCIM), or map[string]any for a complex value. A nil
// Values means the attribute is null at the source.
type Values []any

// ValuesOf returns a JSON value as an attribute's values: nil for null or
// an empty array, an array's elements, or the one value.
func ValuesOf(v any) Values {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		if len(v) == 0 {
			return nil
		}
		return Values(v)
	}
	return Values{v}
}

// Member is one member of a group: its anchor and, when the source says, its
// kind (empty when it does not).
type Member struct {
	Anchor string
	Kind   Kind
}

// Object is one user or group read from a source.
type Object struct {
	// Anchor is the source's stable, immutable id of the object.
	Anchor string
	// Kind is User or Group.
	Kind Kind
	// Attributes are the object's attributes by name. A name absent from
	// the map was not given by the source; a name mapped to nil is null.
	Attributes map[string]Values
	// Members are a group's members, when the read included them.
	Members []Member
	// Deleted reports an object a delta saw deleted; only Anchor and Kind
	// are then set.
	Deleted bool
	// Version is the source's change marker of this state of the object
	// (a SCIM meta.version, an LDAP entryCSN), or empty.
	Version string
}

// Get returns an attribute's values and whether the source gave the
// attribute at all. The name is matched exactly first and then without
// regard to case, since SCIM and LDAP attribute names are
// case-insensitive.
func (o Object) Get(name string) (Values, bool) {
	if v, ok := o.Attributes[name]; ok {
		return v, true
	}
	for k, v := range o.Attributes {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// Source is a directory the engine reads identities from. Implementations
// add the capabilities they have: FullLister, DeltaLister, GroupExpander.
type Source interface {
	// Kind names the connector, e.g. "scim" or "ldap".
	Kind() string
	// Describe says in one line which server the source reads, for logs
	// and the admin UI. It never includes a credential.
	Describe() string
	// Test checks that the source can be read with its configuration and
	// returns nil or a *TestError.
	Test(ctx context.Context) error
}

// FullLister lists every object of a kind, streaming (see the package
// documentation for the contract).
type FullLister interface {
	List(ctx context.Context, kind Kind, fn func(Object) error) error
}

// DeltaLister reports the objects of a kind changed since a watermark (see
// the package documentation for the contract).
type DeltaLister interface {
	Changes(ctx context.Context, kind Kind, watermark string, fn func(Object) error) (next string, err error)
}

// GroupExpander streams the members of one group (see the package
// documentation for the contract).
type GroupExpander interface {
	Members(ctx context.Context, group string, fn func(Member) error) error
}

// ErrNotFound reports an object the source does not hold.
var ErrNotFound = errors.New("not found at the source")

// Referencer resolves the values of reference attributes (an LDAP
// manager's DN) to the anchors of the objects they name. A source whose
// references already are anchors (a SCIM manager.value is the manager's
// id) need not implement it.
type Referencer interface {
	// Resolve returns, for each value that names a user or group the
	// source reads, that object's anchor; values naming nothing it reads
	// are absent from the map.
	Resolve(ctx context.Context, values []string) (map[string]string, error)
}

// Getter reads one object by its anchor, for provisioning on demand. A
// missing object (or one the source's filters exclude) is ErrNotFound.
type Getter interface {
	Get(ctx context.Context, kind Kind, anchor string) (Object, error)
}
