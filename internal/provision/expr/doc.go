// Package expr implements Microsoft Entra's expression language for
// attribute mappings ("Reference for writing expressions for attribute
// mappings in Microsoft Entra application provisioning", summarised in
// ENGINE-NOTES §3), so that a mapping written for Entra works in Roster.
//
// Three steps, one AST:
//
//	n, err := expr.Parse(`Join("@", ToLower([givenName]), "contoso.com")`)
//	err = expr.Check(n)          // when a mapping is saved
//	v, err := expr.Eval(n, obj)  // for each source object
//
//	Call Join
//	├── Str "@"
//	├── Call ToLower
//	│   └── Attr givenName
//	└── Str "contoso.com"
//
// Parse follows the grammar of §3.1: function calls Name(arg, …) with
// case-sensitive names, [attribute] references, "strings" (escape \\ and
// \"), numbers (negative too), VB hex literals (&HF7), the bare identifiers
// vbBinaryCompare, vbTextCompare, True and False, omitted arguments
// (Replace([x], , "re", , "", , )), and one comparison (= <> > >= < <=)
// inside an argument. Errors are *Error values with a byte offset and a
// line:column. Input is limited to MaxLength characters and MaxDepth levels of
// nesting; String prints a canonical form that parses back to the same tree.
//
// Check validates function names, argument counts, identifiers and the
// arguments that are literals: regular expressions (Go's syntax accepts
// .NET's (?<name>…) but not lookaround), DateAdd/DateDiff intervals,
// RandomString's length, InStr's compare type; and that SelectUniqueValue
// is the whole expression.
//
// Eval works on strings as Entra does: numbers, dates and booleans ("True",
// "False") are strings; a Value is null, a string or a multi-valued list.
// An absent attribute and a null one both evaluate to null. Env supplies
// the clock, the randomness, DefaultDomain() and the uniqueness check of
// SelectUniqueValue. Values are limited to MaxValueLength bytes.
//
// # Functions
//
// All 43 functions of Microsoft's reference and three names documented
// elsewhere (AssertiveAppRoleAssignmentsComplex, AppRoleAssignments,
// DefaultDomain): Append, AppRoleAssignments, AppRoleAssignmentsComplex,
// AssertiveAppRoleAssignmentsComplex, BitAnd, CBool, CDate, Coalesce,
// ConvertToBase64, ConvertToUTF8Hex, Count, CStr, DateAdd, DateDiff,
// DateFromNum, DefaultDomain, FormatDateTime, Guid, IgnoreFlowIfNullOrEmpty,
// IIF, InStr, IsNull, IsNullOrEmpty, IsPresent, IsString, Item, Join, Left,
// Mid, NormalizeDiacritics, Not, Now, NumFromDate, PCase, RandomString,
// Redact, RemoveDuplicates, Replace, SelectUniqueValue,
// SingleAppRoleAssignment, Split, StripSpaces, Switch, ToLower, ToUpper,
// Word. Functions lists them and Signature gives each one's signature.
//
// # Semantics copied from Entra (§3.3)
//
// CDate, DateAdd, DateFromNum and Now return UTC strings "M/d/yyyy h:mm:ss
// tt"; a date with an offset and no time ("2020-03-16-07:00") is local
// midnight. DateDiff counts boundaries like VB ("ww" counts Sundays).
// DateFromNum and NumFromDate use FILETIME (100-ns ticks since 1601).
// ConvertToBase64 encodes UTF-16LE; ConvertToUTF8Hex prints upper-case hex.
// Left, Mid, Item, InStr and Word are 1-based with the documented edge
// cases. Switch is case-sensitive. IgnoreFlowIfNullOrEmpty returns a value
// whose Skip method reports true. NormalizeDiacritics uses a table that
// includes letters without a decomposition (æ → ae, ø → oe, ß → ss, ł → l).
// Replace has Entra's five modes.
//
// # Deviations and decisions
//
//   - Text is handled in runes (Unicode code points), not .NET's UTF-16
//     code units, so Left("😀x", 1) is "😀".
//   - Regular expressions use Go's RE2 syntax: no lookahead, lookbehind or
//     backreferences; Check reports such patterns at save time.
//   - Join skips null and empty values (the doc's Join(", ", "", [surname],
//     [givenName]) is "Doe, John"). Split does not trim (the doc's display
//     drops a space that .NET keeps).
//   - A comparison with a null or empty side is false, and comparisons are
//     numeric when both sides are numbers, else ordinal and case-sensitive.
//   - PCase lowercases first ("PABLO" → "Pablo", as the doc shows, where
//     .NET's ToTitleCase would keep the capitals).
//   - String functions given a multi-valued attribute apply to each value;
//     Entra does not document this case.
//   - The app-role functions see [appRoleAssignments] as a list of strings:
//     SingleAppRoleAssignment returns the first, the others return the list.
//   - SelectUniqueValue asks an optional UniqueChecker (a SCIM target can
//     answer with an eq lookup, where Entra supports AD targets only);
//     without one the first non-empty candidate wins. When every candidate
//     is taken Eval returns ErrNoUniqueValue.
//   - Switch's documented bug (null when its attribute did not change) is
//     not reproduced.
//   - Coalesce returns the first value that is not null; an empty string
//     counts as a value, as the reference says ("isn't NULL").
//   - FormatDateTime reads dateTimeStyles but ignores it: a value without
//     an offset is read as UTC. It may be left out entirely (three arguments).
//   - ToLower and ToUpper honour only the Turkish and Azeri cultures'
//     special cases; other cultures use Unicode's default mapping.
package expr
