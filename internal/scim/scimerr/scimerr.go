// Package scimerr is the catalogue of SCIM protocol errors of RFC 7644 §3.12:
// each error carries the HTTP status and, for 400s, the scimType keyword a
// client can act on. The protocol packages return these errors; the HTTP
// layer turns them into SCIM error bodies.
package scimerr

import (
	"errors"
	"fmt"
)

// The HTTP statuses the catalogue uses, as plain numbers (RFC 9110 §15) so
// that the protocol core does not import net/http.
const (
	statusBadRequest            = 400
	statusUnauthorized          = 401
	statusForbidden             = 403
	statusNotFound              = 404
	statusMethodNotAllowed      = 405
	statusConflict              = 409
	statusPreconditionFailed    = 412
	statusRequestEntityTooLarge = 413
	statusNotImplemented        = 501
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
	return New(statusBadRequest, TypeInvalidFilter, format, args...)
}

// InvalidSyntax reports a request body that cannot be parsed or violates the
// schema's structure.
func InvalidSyntax(format string, args ...any) *Error {
	return New(statusBadRequest, TypeInvalidSyntax, format, args...)
}

// InvalidValue reports a missing required value or a value of the wrong type.
func InvalidValue(format string, args ...any) *Error {
	return New(statusBadRequest, TypeInvalidValue, format, args...)
}

// InvalidPath reports a PATCH path that is malformed or names no attribute.
func InvalidPath(format string, args ...any) *Error {
	return New(statusBadRequest, TypeInvalidPath, format, args...)
}

// NoTarget reports a PATCH path that selects nothing where a target is required.
func NoTarget(format string, args ...any) *Error {
	return New(statusBadRequest, TypeNoTarget, format, args...)
}

// Mutability reports an attempt to change a readOnly or immutable attribute.
func Mutability(format string, args ...any) *Error {
	return New(statusBadRequest, TypeMutability, format, args...)
}

// TooMany reports a query that would return more results than the server allows.
func TooMany(format string, args ...any) *Error {
	return New(statusBadRequest, TypeTooMany, format, args...)
}

// Uniqueness reports a value that clashes with another resource's unique value.
func Uniqueness(format string, args ...any) *Error {
	return New(statusConflict, TypeUniqueness, format, args...)
}

// InvalidVersion reports an unsupported SCIM protocol version.
func InvalidVersion(format string, args ...any) *Error {
	return New(statusBadRequest, TypeInvalidVers, format, args...)
}

// BadRequest reports a malformed request with no more specific scimType.
func BadRequest(format string, args ...any) *Error {
	return New(statusBadRequest, "", format, args...)
}

// NotFound reports an unknown resource or endpoint.
func NotFound(format string, args ...any) *Error {
	return New(statusNotFound, "", format, args...)
}

// PreconditionFailed reports an If-Match version that does not match.
func PreconditionFailed(format string, args ...any) *Error {
	return New(statusPreconditionFailed, "", format, args...)
}

// Unauthorized reports a missing or invalid credential.
func Unauthorized(format string, args ...any) *Error {
	return New(statusUnauthorized, "", format, args...)
}

// Forbidden reports a credential that may not perform the request.
func Forbidden(format string, args ...any) *Error {
	return New(statusForbidden, "", format, args...)
}

// PayloadTooLarge reports a body over the advertised limit.
func PayloadTooLarge(format string, args ...any) *Error {
	return New(statusRequestEntityTooLarge, "", format, args...)
}

// NotImplemented reports a feature the service provider does not support.
func NotImplemented(format string, args ...any) *Error {
	return New(statusNotImplemented, "", format, args...)
}

// MethodNotAllowed reports an HTTP method the endpoint does not support.
func MethodNotAllowed(format string, args ...any) *Error {
	return New(statusMethodNotAllowed, "", format, args...)
}
