// Package scimerr is the catalogue of SCIM protocol errors of RFC 7644 §3.12:
// each error carries the HTTP status and, for 400s, the scimType keyword a
// client can act on. The protocol packages return these errors; the HTTP
// layer turns them into SCIM error bodies.
package scimerr

import (
	"errors"
	"fmt"
	"net/http"
)

// Type is a scimType keyword of RFC 7644 §3.12 Table 9.
type Type string

// The scimType keywords of RFC 7644 §3.12.
const (
	TypeInvalidFilter Type = "invalidFilter"
	TypeTooMany       Type = "tooMany"
	TypeUniqueness    Type = "uniqueness"
	TypeMutability    Type = "mutability"
	TypeInvalidSyntax Type = "invalidSyntax"
	TypeInvalidPath   Type = "invalidPath"
	TypeNoTarget      Type = "noTarget"
	TypeInvalidValue  Type = "invalidValue"
	TypeInvalidVers   Type = "invalidVers"
	TypeSensitive     Type = "sensitive"
)

// Error is a SCIM error: an HTTP status, an optional scimType and a
// human-readable detail.
type Error struct {
	Status   int
	ScimType Type
	Detail   string
}

func (e *Error) Error() string {
	if e.ScimType != "" {
		return fmt.Sprintf("scim %d %s: %s", e.Status, e.ScimType, e.Detail)
	}
	return fmt.Sprintf("scim %d: %s", e.Status, e.Detail)
}

// New returns an error with the given status, scimType and detail.
func New(status int, typ Type, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: typ, Detail: fmt.Sprintf(format, args...)}
}

// As returns the SCIM error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// InvalidFilter reports a filter that is malformed or names an attribute or
// operator the resource does not support.
func InvalidFilter(format string, args ...any) *Error {
	return New(http.StatusBadRequest, TypeInvalidFilter, format, args...)
}

// InvalidSyntax reports a request body that cannot be parsed or violates the
// schema's structure.
func InvalidSyntax(format string, args ...any) *Error {
	return New(http.StatusBadRequest, TypeInvalidSyntax, format, args...)
}

// InvalidValue reports a missing required value or a value of the wrong type.
func InvalidValue(format string, args ...any) *Error {
	return New(http.StatusBadRequest, TypeInvalidValue, format, args...)
}

// InvalidPath reports a PATCH path that is malformed or names no attribute.
func InvalidPath(format string, args ...any) *Error {
	return New(http.StatusBadRequest, TypeInvalidPath, format, args...)
}

// NoTarget reports a PATCH path that selects nothing where a target is required.
func NoTarget(format string, args ...any) *Error {
	return New(http.StatusBadRequest, TypeNoTarget, format, args...)
}

// Mutability reports an attempt to change a readOnly or immutable attribute.
func Mutability(format string, args ...any) *Error {
	return New(http.StatusBadRequest, TypeMutability, format, args...)
}

// TooMany reports a query that would return more results than the server allows.
func TooMany(format string, args ...any) *Error {
	return New(http.StatusBadRequest, TypeTooMany, format, args...)
}

// Uniqueness reports a value that clashes with another resource's unique value.
func Uniqueness(format string, args ...any) *Error {
	return New(http.StatusConflict, TypeUniqueness, format, args...)
}

// InvalidVersion reports an unsupported SCIM protocol version.
func InvalidVersion(format string, args ...any) *Error {
	return New(http.StatusBadRequest, TypeInvalidVers, format, args...)
}

// BadRequest reports a malformed request with no more specific scimType.
func BadRequest(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "", format, args...)
}

// NotFound reports an unknown resource or endpoint.
func NotFound(format string, args ...any) *Error {
	return New(http.StatusNotFound, "", format, args...)
}

// PreconditionFailed reports an If-Match version that does not match.
func PreconditionFailed(format string, args ...any) *Error {
	return New(http.StatusPreconditionFailed, "", format, args...)
}

// Unauthorized reports a missing or invalid credential.
func Unauthorized(format string, args ...any) *Error {
	return New(http.StatusUnauthorized, "", format, args...)
}

// Forbidden reports a credential that may not perform the request.
func Forbidden(format string, args ...any) *Error {
	return New(http.StatusForbidden, "", format, args...)
}

// PayloadTooLarge reports a body over the advertised limit.
func PayloadTooLarge(format string, args ...any) *Error {
	return New(http.StatusRequestEntityTooLarge, "", format, args...)
}

// NotImplemented reports a feature the service provider does not support.
func NotImplemented(format string, args ...any) *Error {
	return New(http.StatusNotImplemented, "", format, args...)
}

// MethodNotAllowed reports an HTTP method the endpoint does not support.
func MethodNotAllowed(format string, args ...any) *Error {
	return New(http.StatusMethodNotAllowed, "", format, args...)
}
