// Package schema holds the SCIM schema model of RFC 7643 §2 and §7: attributes
// with their characteristics, schemas, resource types, and the registry that
// serves /Schemas and /ResourceTypes and drives validation, projection, filters
// and PATCH.
package schema

import "strings"

// Type is an attribute data type, per RFC 7643 §2.3.
type Type string

// The attribute data types of RFC 7643 §2.3.
const (
	String    Type = "string"
	Boolean   Type = "boolean"
	Decimal   Type = "decimal"
	Integer   Type = "integer"
	DateTime  Type = "dateTime"
	Binary    Type = "binary"
	Reference Type = "reference"
	Complex   Type = "complex"
)

// Mutability says whether and how an attribute may be written, per RFC 7643 §7.
type Mutability string

// The mutability values of RFC 7643 §7.
const (
	ReadWrite Mutability = "readWrite"
	ReadOnly  Mutability = "readOnly"
	Immutable Mutability = "immutable"
	WriteOnly Mutability = "writeOnly"
)

// Returned says when an attribute appears in a response, per RFC 7643 §7.
type Returned string

// The returned values of RFC 7643 §7.
const (
	ReturnedAlways  Returned = "always"
	ReturnedNever   Returned = "never"
	ReturnedDefault Returned = "default"
	ReturnedRequest Returned = "request"
)

// Uniqueness says how an attribute's value must be unique, per RFC 7643 §7.
type Uniqueness string

// The uniqueness values of RFC 7643 §7.
const (
	UniqueNone   Uniqueness = "none"
	UniqueServer Uniqueness = "server"
	UniqueGlobal Uniqueness = "global"
)

// Attribute describes one attribute or sub-attribute and its characteristics,
// per RFC 7643 §2.2 and §7. Build attributes with the constructors below so
// that every characteristic has its RFC default.
type Attribute struct {
	Name            string       `json:"name"`
	Type            Type         `json:"type"`
	SubAttributes   []*Attribute `json:"subAttributes,omitempty"`
	MultiValued     bool         `json:"multiValued"`
	Description     string       `json:"description,omitempty"`
	Required        bool         `json:"required"`
	CanonicalValues []string     `json:"canonicalValues,omitempty"`
	CaseExact       bool         `json:"caseExact"`
	Mutability      Mutability   `json:"mutability"`
	Returned        Returned     `json:"returned"`
	Uniqueness      Uniqueness   `json:"uniqueness"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty"`
}

// Option sets one characteristic of an Attribute.
type Option func(*Attribute)

func newAttribute(name string, typ Type, opts []Option) *Attribute {
	a := &Attribute{
		Name:       name,
		Type:       typ,
		Mutability: ReadWrite,
		Returned:   ReturnedDefault,
		Uniqueness: UniqueNone,
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Str returns a string attribute.
func Str(name string, opts ...Option) *Attribute { return newAttribute(name, String, opts) }

// Bool returns a boolean attribute.
func Bool(name string, opts ...Option) *Attribute { return newAttribute(name, Boolean, opts) }

// Int returns an integer attribute.
func Int(name string, opts ...Option) *Attribute { return newAttribute(name, Integer, opts) }

// Dec returns a decimal attribute.
func Dec(name string, opts ...Option) *Attribute { return newAttribute(name, Decimal, opts) }

// Time returns a dateTime attribute.
func Time(name string, opts ...Option) *Attribute { return newAttribute(name, DateTime, opts) }

// Bin returns a binary attribute. Binary values are base64 text compared
// exactly, per RFC 7643 §2.3.6.
func Bin(name string, opts ...Option) *Attribute {
	return newAttribute(name, Binary, append([]Option{CaseExact}, opts...))
}

// Ref returns a reference attribute to the given reference types.
func Ref(name string, refTypes []string, opts ...Option) *Attribute {
	a := newAttribute(name, Reference, opts)
	a.ReferenceTypes = refTypes
	return a
}

// Cplx returns a complex attribute with the given sub-attributes.
func Cplx(name string, subs []*Attribute, opts ...Option) *Attribute {
	a := newAttribute(name, Complex, opts)
	a.SubAttributes = subs
	return a
}

// Multi marks an attribute multi-valued.
func Multi(a *Attribute) { a.MultiValued = true }

// Required marks an attribute required.
func Required(a *Attribute) { a.Required = true }

// CaseExact marks a string attribute case-sensitive.
func CaseExact(a *Attribute) { a.CaseExact = true }

// Mut sets the mutability.
func Mut(m Mutability) Option { return func(a *Attribute) { a.Mutability = m } }

// Ret sets when the attribute is returned.
func Ret(r Returned) Option { return func(a *Attribute) { a.Returned = r } }

// Unique sets the uniqueness.
func Unique(u Uniqueness) Option { return func(a *Attribute) { a.Uniqueness = u } }

// Canonical sets the canonical values.
func Canonical(v ...string) Option { return func(a *Attribute) { a.CanonicalValues = v } }

// Desc sets the description.
func Desc(d string) Option { return func(a *Attribute) { a.Description = d } }

// Sub returns the sub-attribute with the given name, compared
// case-insensitively as RFC 7643 §2.1 requires, or nil.
func (a *Attribute) Sub(name string) *Attribute {
	return find(a.SubAttributes, name)
}

// IsMultiValuedComplex reports whether the attribute is a multi-valued complex
// attribute such as emails, whose elements can be selected by a value filter.
func (a *Attribute) IsMultiValuedComplex() bool {
	return a.MultiValued && a.Type == Complex
}

// HasPrimary reports whether the attribute's elements carry a "primary" flag,
// of which RFC 7643 §2.4 allows at most one to be true.
func (a *Attribute) HasPrimary() bool {
	p := a.Sub("primary")
	return a.IsMultiValuedComplex() && p != nil && p.Type == Boolean
}

func find(attrs []*Attribute, name string) *Attribute {
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// FindAttr returns the attribute with the given name among attrs, compared
// case-insensitively, or nil.
func FindAttr(attrs []*Attribute, name string) *Attribute { return find(attrs, name) }
