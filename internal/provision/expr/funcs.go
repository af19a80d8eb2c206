package expr

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// function is one entry of the function table: its argument counts and
// its implementation. max < 0 means any number of arguments.
type function struct {
	min, max int
	// even requires an even number of arguments (Switch).
	even bool
	sig  string
	call func(ev *evaluator, a args) (Value, error)
}

func (f function) arity(n int) error {
	switch {
	case n < f.min || (f.max >= 0 && n > f.max):
		want := strconv.Itoa(f.min)
		switch {
		case f.max < 0:
			want = fmt.Sprintf("at least %d", f.min)
		case f.max != f.min:
			want = fmt.Sprintf("%d to %d", f.min, f.max)
		}
		return fmt.Errorf("takes %s arguments, got %d (%s)", want, n, f.sig)
	case f.even && n%2 != 0:
		return fmt.Errorf("takes an even number of arguments, got %d (%s)", n, f.sig)
	}
	return nil
}

// Functions returns the names of the supported functions, sorted.
func Functions() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Signature returns a function's documented signature, or "" for an unknown name.
func Signature(name string) string { return functions[name].sig }

// functions is the function table of ENGINE-NOTES §3.2.
var functions = map[string]function{
	"Append":                             {2, 2, false, "Append(source, suffix)", fnAppend},
	"AppRoleAssignments":                 {1, 1, false, "AppRoleAssignments([appRoleAssignments])", fnAllValues},
	"AppRoleAssignmentsComplex":          {1, 1, false, "AppRoleAssignmentsComplex([appRoleAssignments])", fnAllValues},
	"AssertiveAppRoleAssignmentsComplex": {1, 1, false, "AssertiveAppRoleAssignmentsComplex([appRoleAssignments])", fnAllValues},
	"BitAnd":                             {2, 2, false, "BitAnd(value1, value2)", fnBitAnd},
	"CBool":                              {1, 1, false, "CBool(expression)", fnCBool},
	"CDate":                              {1, 1, false, "CDate(expression)", fnCDate},
	"Coalesce":                           {1, -1, false, "Coalesce(source1, …, sourceN, defaultValue)", fnCoalesce},
	"ConvertToBase64":                    {1, 1, false, "ConvertToBase64(source)", fnToBase64},
	"ConvertToUTF8Hex":                   {1, 1, false, "ConvertToUTF8Hex(source)", fnToUTF8Hex},
	"Count":                              {1, 1, false, "Count(attribute)", fnCount},
	"CStr":                               {1, 1, false, "CStr(value)", fnCStr},
	"DateAdd":                            {3, 3, false, "DateAdd(interval, value, dateTime)", fnDateAdd},
	"DateDiff":                           {3, 3, false, "DateDiff(interval, date1, date2)", fnDateDiff},
	"DateFromNum":                        {1, 1, false, "DateFromNum(value)", fnDateFromNum},
	"DefaultDomain":                      {0, 0, false, "DefaultDomain()", fnDefaultDomain},
	"FormatDateTime":                     {3, 4, false, "FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat)", fnFormatDateTime},
	"Guid":                               {0, 0, false, "Guid()", fnGuid},
	"IgnoreFlowIfNullOrEmpty":            {1, 1, false, "IgnoreFlowIfNullOrEmpty(expression)", fnIgnoreFlow},
	"IIF":                                {3, 3, false, "IIF(condition, valueIfTrue, valueIfFalse)", fnIIF},
	"InStr":                              {2, 4, false, "InStr(value1, value2, start, compareType)", fnInStr},
	"IsNull":                             {1, 1, false, "IsNull(expression)", fnIsNull},
	"IsNullOrEmpty":                      {1, 1, false, "IsNullOrEmpty(expression)", fnIsNullOrEmpty},
	"IsPresent":                          {1, 1, false, "IsPresent(expression)", fnIsPresent},
	"IsString":                           {1, 1, false, "IsString(expression)", fnIsString},
	"Item":                               {2, 2, false, "Item(attribute, index)", fnItem},
	"Join":                               {2, -1, false, "Join(separator, source1, …, sourceN)", fnJoin},
	"Left":                               {2, 2, false, "Left(String, NumChars)", fnLeft},
	"Mid":                                {3, 3, false, "Mid(source, start, length)", fnMid},
	"NormalizeDiacritics":                {1, 1, false, "NormalizeDiacritics(source)", fnNormalizeDiacritics},
	"Not":                                {1, 1, false, "Not(source)", fnNot},
	"Now":                                {0, 0, false, "Now()", fnNow},
	"NumFromDate":                        {1, 1, false, "NumFromDate(value)", fnNumFromDate},
	"PCase":                              {1, 2, false, "PCase(source, wordSeparators)", fnPCase},
	"RandomString":                       {5, 6, false, "RandomString(Length, MinimumNumbers, MinimumSpecialCharacters, MinimumCapital, MinimumLowerCase, CharactersToAvoid)", fnRandomString},
	"Redact":                             {1, 1, false, "Redact(attribute)", fnRedact},
	"RemoveDuplicates":                   {1, 1, false, "RemoveDuplicates(attribute)", fnRemoveDuplicates},
	"Replace":                            {7, 7, false, "Replace(source, oldValue, regexPattern, regexGroupName, replacementValue, replacementAttributeName, template)", fnReplace},
	"SelectUniqueValue":                  {2, -1, false, "SelectUniqueValue(rule1, rule2, …, ruleN)", fnSelectUniqueValue},
	"SingleAppRoleAssignment":            {1, 1, false, "SingleAppRoleAssignment([appRoleAssignments])", fnSingleAppRole},
	"Split":                              {2, 2, false, "Split(source, delimiter)", fnSplit},
	"StripSpaces":                        {1, 1, false, "StripSpaces(source)", fnStripSpaces},
	"Switch":                             {2, -1, true, "Switch(source, defaultValue, key1, value1, …)", fnSwitch},
	"ToLower":                            {1, 2, false, "ToLower(source, culture)", fnToLower},
	"ToUpper":                            {1, 2, false, "ToUpper(source, culture)", fnToUpper},
	"Word":                               {3, 3, false, "Word(String, WordNumber, Delimiters)", fnWord},
}

// mapStr applies f to a string or to each value of a multi-valued one;
// null stays null.
func mapStr(v Value, f func(string) string) Value {
	switch v.kind {
	case KindString:
		return String(f(v.str))
	case KindMulti:
		out := make([]string, len(v.list))
		for i, s := range v.list {
			out[i] = f(s)
		}
		return Multi(out)
	default:
		return Null()
	}
}

func isNullOrEmpty(v Value) bool { return v.IsNull() || (v.kind == KindString && v.str == "") }

func fnAppend(_ *evaluator, a args) (Value, error) {
	suffix := a.s(1)
	return mapStr(a.v(0), func(s string) string { return s + suffix }), nil
}

func fnAllValues(_ *evaluator, a args) (Value, error) { return a.v(0), nil }

func fnSingleAppRole(_ *evaluator, a args) (Value, error) {
	// Entra returns one assignment of several without saying which; the
	// first is deterministic.
	if a.v(0).IsNull() {
		return Null(), nil
	}
	return String(a.v(0).Str()), nil
}

func fnBitAnd(_ *evaluator, a args) (Value, error) {
	x, err := a.int(0, "value1")
	if err != nil {
		return Value{}, err
	}
	y, err := a.int(1, "value2")
	if err != nil {
		return Value{}, err
	}
	return String(strconv.Itoa(x & y)), nil
}

func fnCBool(_ *evaluator, a args) (Value, error) {
	v := a.v(0)
	if v.IsNull() {
		return Bool(false), nil
	}
	s := strings.TrimSpace(v.Str())
	switch {
	case strings.EqualFold(s, "true"):
		return Bool(true), nil
	case strings.EqualFold(s, "false"), s == "":
		return Bool(false), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Value{}, fmt.Errorf("%q is neither a boolean nor a number", s)
	}
	return Bool(f != 0), nil
}

func fnCDate(_ *evaluator, a args) (Value, error) {
	if isNullOrEmpty(a.v(0)) {
		return Null(), nil
	}
	t, err := parseDate(a.s(0))
	if err != nil {
		return Value{}, err
	}
	return String(formatEntra(t)), nil
}

func fnCoalesce(_ *evaluator, a args) (Value, error) {
	for _, v := range a.vals {
		if !v.IsNull() {
			return v, nil
		}
	}
	return Null(), nil
}

func fnToBase64(_ *evaluator, a args) (Value, error) {
	// .NET's Encoding.Unicode is UTF-16LE; the doc's example depends on it.
	return mapStr(a.v(0), func(s string) string {
		u := utf16.Encode([]rune(s))
		b := make([]byte, 2*len(u))
		for i, c := range u {
			b[2*i], b[2*i+1] = byte(c), byte(c>>8)
		}
		return base64.StdEncoding.EncodeToString(b)
	}), nil
}

func fnToUTF8Hex(_ *evaluator, a args) (Value, error) {
	return mapStr(a.v(0), func(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) }), nil
}

func fnCount(_ *evaluator, a args) (Value, error) {
	return String(strconv.Itoa(len(a.v(0).List()))), nil
}

func fnCStr(_ *evaluator, a args) (Value, error) { return a.v(0), nil }

func fnDateAdd(_ *evaluator, a args) (Value, error) {
	if isNullOrEmpty(a.v(2)) {
		return Null(), nil
	}
	n, err := a.int(1, "value")
	if err != nil {
		return Value{}, err
	}
	t, err := parseDate(a.s(2))
	if err != nil {
		return Value{}, err
	}
	t, err = dateAdd(a.s(0), n, t)
	if err != nil {
		return Value{}, err
	}
	return String(formatEntra(t)), nil
}

func fnDateDiff(_ *evaluator, a args) (Value, error) {
	if isNullOrEmpty(a.v(1)) || isNullOrEmpty(a.v(2)) {
		return Null(), nil
	}
	t1, err := parseDate(a.s(1))
	if err != nil {
		return Value{}, fmt.Errorf("date1: %w", err)
	}
	t2, err := parseDate(a.s(2))
	if err != nil {
		return Value{}, fmt.Errorf("date2: %w", err)
	}
	d, err := dateDiff(a.s(0), t1, t2)
	if err != nil {
		return Value{}, err
	}
	return String(strconv.FormatInt(d, 10)), nil
}

func fnDateFromNum(_ *evaluator, a args) (Value, error) {
	if isNullOrEmpty(a.v(0)) {
		return Null(), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(a.s(0)), 10, 64)
	if err != nil || n < 0 {
		return Value{}, fmt.Errorf("%q is not a FILETIME (100-ns ticks since 1601)", a.s(0))
	}
	return String(formatEntra(fromFileTime(n))), nil
}

func fnDefaultDomain(ev *evaluator, _ args) (Value, error) {
	if ev.env.DefaultDomain == "" {
		return Null(), nil
	}
	return String(ev.env.DefaultDomain), nil
}

func fnFormatDateTime(_ *evaluator, a args) (Value, error) {
	// dateTimeStyles is optional in the middle: with three arguments it is absent.
	in, out := 2, 3
	if a.n() == 3 {
		in, out = 1, 2
	}
	if isNullOrEmpty(a.v(0)) {
		return Null(), nil
	}
	return mapErr(a.v(0), func(s string) (string, error) {
		t, err := parseNet(s, a.s(in))
		if err != nil {
			return "", err
		}
		return formatNet(t, a.s(out)), nil
	})
}

func mapErr(v Value, f func(string) (string, error)) (Value, error) {
	var err error
	out := mapStr(v, func(s string) string {
		r, e := f(s)
		if e != nil && err == nil {
			err = e
		}
		return r
	})
	if err != nil {
		return Value{}, err
	}
	return out, nil
}

func fnGuid(ev *evaluator, _ args) (Value, error) {
	var b [16]byte
	if err := ev.randBytes(b[:]); err != nil {
		return Value{}, err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return String(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]), nil
}

func fnIgnoreFlow(_ *evaluator, a args) (Value, error) {
	if isNullOrEmpty(a.v(0)) {
		return Value{kind: KindSkip}, nil
	}
	return a.v(0), nil
}

func isTrue(v Value) bool {
	return !v.IsNull() && strings.EqualFold(strings.TrimSpace(v.Str()), "true")
}

func fnIIF(_ *evaluator, a args) (Value, error) {
	if isTrue(a.v(0)) {
		return a.v(1), nil
	}
	return a.v(2), nil
}

func fnInStr(_ *evaluator, a args) (Value, error) {
	if a.v(0).IsNull() || a.v(1).IsNull() {
		return Null(), nil
	}
	hay, needle := []rune(a.s(0)), []rune(a.s(1))
	start := 1
	if !a.omitted(2) && a.n() > 2 {
		var err error
		if start, err = a.int(2, "start"); err != nil {
			return Value{}, err
		}
		if start < 1 {
			return Value{}, fmt.Errorf("start %d is less than 1", start)
		}
	}
	text := false
	if !a.omitted(3) && a.n() > 3 {
		switch strings.TrimSpace(a.s(3)) {
		case "0":
		case "1":
			text = true
		default:
			return Value{}, fmt.Errorf("compareType %q: want vbBinaryCompare or vbTextCompare", a.s(3))
		}
	}
	if start > len(hay) {
		return String("0"), nil
	}
	// strings.Index keeps this linear on long values; lowering rune by rune
	// keeps rune positions unchanged for vbTextCompare.
	h, nd := string(hay[start-1:]), string(needle)
	if text {
		h, nd = strings.Map(unicode.ToLower, h), strings.Map(unicode.ToLower, nd)
	}
	i := strings.Index(h, nd)
	if i < 0 {
		return String("0"), nil
	}
	return String(strconv.Itoa(start + utf8.RuneCountInString(h[:i]))), nil
}

// runeSet returns a membership test for the runes of s, by map so that a
// long set does not make a scan quadratic.
func runeSet(s string) func(rune) bool {
	m := make(map[rune]bool, len(s))
	for _, r := range s {
		m[r] = true
	}
	return func(r rune) bool { return m[r] }
}

func fnIsNull(_ *evaluator, a args) (Value, error)        { return Bool(a.v(0).IsNull()), nil }
func fnIsNullOrEmpty(_ *evaluator, a args) (Value, error) { return Bool(isNullOrEmpty(a.v(0))), nil }
func fnIsPresent(_ *evaluator, a args) (Value, error)     { return Bool(!isNullOrEmpty(a.v(0))), nil }
func fnIsString(_ *evaluator, a args) (Value, error)      { return Bool(a.v(0).kind == KindString), nil }

func fnItem(_ *evaluator, a args) (Value, error) {
	i, err := a.int(1, "index")
	if err != nil {
		return Value{}, err
	}
	list := a.v(0).List()
	// Item is 1-based: "Index 0 shouldn't be used".
	if i < 1 || i > len(list) {
		return Null(), nil
	}
	return String(list[i-1]), nil
}

func fnJoin(_ *evaluator, a args) (Value, error) {
	var parts []string
	size := 0
	for _, v := range a.vals[1:] {
		for _, s := range v.List() {
			// Empty strings are skipped: the doc's Join(", ", "", [surname],
			// [givenName]) gives "Doe, John", not ", Doe, John".
			if s != "" {
				parts = append(parts, s)
				if size += len(s) + len(a.s(0)); size > MaxValueLength {
					return Value{}, errTooLong
				}
			}
		}
	}
	return String(strings.Join(parts, a.s(0))), nil
}

func fnLeft(_ *evaluator, a args) (Value, error) {
	n, err := a.int(1, "NumChars")
	if err != nil {
		return Value{}, err
	}
	if a.v(0).IsNull() {
		return String(""), nil
	}
	return mapStr(a.v(0), func(s string) string {
		r := []rune(s)
		if n < 0 || n >= len(r) {
			return s
		}
		return string(r[:n])
	}), nil
}

func fnMid(_ *evaluator, a args) (Value, error) {
	start, err := a.int(1, "start")
	if err != nil {
		return Value{}, err
	}
	length, err := a.int(2, "length")
	if err != nil {
		return Value{}, err
	}
	if start < 1 {
		return Value{}, fmt.Errorf("start %d is less than 1 (Mid is 1-based)", start)
	}
	if length < 0 {
		return Value{}, fmt.Errorf("length %d is negative", length)
	}
	return mapStr(a.v(0), func(s string) string {
		r := []rune(s)
		if start > len(r) {
			return ""
		}
		end := len(r)
		if length < end-(start-1) { // compared this way round so huge lengths cannot overflow
			end = start - 1 + length
		}
		return string(r[start-1 : end])
	}), nil
}

func fnNot(_ *evaluator, a args) (Value, error) { return Bool(!isTrue(a.v(0))), nil }

func fnNow(ev *evaluator, _ args) (Value, error) { return String(formatEntra(ev.now())), nil }

func fnNumFromDate(_ *evaluator, a args) (Value, error) {
	if isNullOrEmpty(a.v(0)) {
		return Null(), nil
	}
	t, err := parseDate(a.s(0))
	if err != nil {
		return Value{}, err
	}
	if t.Before(fileTimeEpoch) {
		return Value{}, fmt.Errorf("%q is before 1601, the FILETIME epoch", a.s(0))
	}
	return String(strconv.FormatInt(toFileTime(t), 10)), nil
}

func fnPCase(_ *evaluator, a args) (Value, error) {
	custom := a.n() > 1 && !a.omitted(1)
	isSep := runeSet(a.s(1))
	return mapStr(a.v(0), func(s string) string {
		// Lowercase first: the doc turns "PABLO" into "Pablo", which .NET's
		// ToTitleCase (it keeps all-caps words) would not.
		var b strings.Builder
		inWord := false
		for _, r := range strings.ToLower(s) {
			var sep bool
			if custom {
				sep = isSep(r)
			} else {
				sep = !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '\'')
			}
			switch {
			case sep:
				inWord = false
				b.WriteRune(r)
			case !inWord:
				inWord = true
				b.WriteRune(unicode.ToTitle(r))
			default:
				b.WriteRune(r)
			}
		}
		return b.String()
	}), nil
}

// MaxRandomString is RandomString's longest length, as in Entra.
const MaxRandomString = 256

const (
	randDigits  = "0123456789"
	randUpper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	randLower   = "abcdefghijklmnopqrstuvwxyz"
	randSpecial = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
)

func fnRandomString(ev *evaluator, a args) (Value, error) {
	var n [5]int
	for i, name := range []string{"Length", "MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase"} {
		v := 0
		if !a.omitted(i) {
			var err error
			if v, err = a.int(i, name); err != nil {
				return Value{}, err
			}
		}
		if v < 0 {
			return Value{}, fmt.Errorf("%s %d is negative", name, v)
		}
		n[i] = v
	}
	length := n[0]
	if length < 1 || length > MaxRandomString {
		return Value{}, fmt.Errorf("length %d is not between 1 and %d", length, MaxRandomString)
	}
	if n[1]+n[2]+n[3]+n[4] > length {
		return Value{}, fmt.Errorf("the minimums add up to %d, more than the length %d", n[1]+n[2]+n[3]+n[4], length)
	}
	avoid := a.s(5)
	keep := func(set string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(avoid, r) {
				return -1
			}
			return r
		}, set)
	}
	sets := []string{keep(randDigits), keep(randSpecial), keep(randUpper), keep(randLower)}
	out := make([]byte, 0, length)
	pick := func(set string) error {
		i, err := ev.randIntn(len(set))
		if err != nil {
			return err
		}
		out = append(out, set[i])
		return nil
	}
	for k, set := range sets {
		if n[k+1] > 0 && set == "" {
			return Value{}, errors.New("CharactersToAvoid removes a whole required character class")
		}
		for range n[k+1] {
			if err := pick(set); err != nil {
				return Value{}, err
			}
		}
	}
	// The rest come from letters and digits, like Entra's samples.
	all := sets[0] + sets[2] + sets[3]
	if all == "" && len(out) < length {
		return Value{}, errors.New("CharactersToAvoid leaves no characters")
	}
	for len(out) < length {
		if err := pick(all); err != nil {
			return Value{}, err
		}
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := ev.randIntn(i + 1)
		if err != nil {
			return Value{}, err
		}
		out[i], out[j] = out[j], out[i]
	}
	return String(string(out)), nil
}

func fnRedact(_ *evaluator, a args) (Value, error) {
	v := a.v(0)
	v.redacted = true
	return v, nil
}

func fnRemoveDuplicates(_ *evaluator, a args) (Value, error) {
	v := a.v(0)
	if v.kind != KindMulti {
		return v, nil
	}
	var out []string
	seen := make(map[string]bool, len(v.list))
	for _, s := range v.list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return Multi(out), nil
}

// compileRegex compiles a pattern in Go's syntax, which covers .NET's named
// groups (?<name>…) but not lookaround.
func compileRegex(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("regexPattern %q: %w (lookahead and lookbehind are not supported)", p, err)
	}
	return re, nil
}

func fnReplace(_ *evaluator, a args) (Value, error) {
	const source, oldValue, pattern, group, replacement, replAttr, template = 0, 1, 2, 3, 4, 5, 6
	src := a.v(source)
	given := func(i int) bool { return !a.omitted(i) }
	switch {
	case given(oldValue) && given(template):
		// The template's occurrences of oldValue become the source.
		if src.IsNull() {
			return Null(), nil
		}
		return mapErr(src, func(s string) (string, error) { return replaceAll(a.s(template), a.s(oldValue), s) })
	case given(oldValue):
		old, repl := a.s(oldValue), a.s(replacement)
		if old == "" {
			return src, nil
		}
		return mapErr(src, func(s string) (string, error) { return replaceAll(s, old, repl) })
	case given(pattern):
		re, err := compileRegex(a.s(pattern))
		if err != nil {
			return Value{}, err
		}
		if isNullOrEmpty(src) && given(replAttr) {
			src = a.v(replAttr)
		}
		if src.IsNull() {
			return Null(), nil
		}
		name := a.s(group)
		gi := -1
		if given(group) {
			if gi = re.SubexpIndex(name); gi < 0 {
				return Value{}, fmt.Errorf("regexGroupName %q is not a group of %q", name, a.s(pattern))
			}
		}
		switch {
		case gi >= 0 && given(replacement):
			repl := a.s(replacement)
			return mapErr(src, func(s string) (string, error) { return replaceGroup(re, gi, s, repl) })
		case gi >= 0:
			// Extract the group: Entra's fallback to replacementAttributeName.
			return mapStr(src, func(s string) string {
				m := re.FindStringSubmatch(s)
				if m == nil {
					return ""
				}
				return m[gi]
			}), nil
		default:
			repl := a.s(replacement)
			return mapErr(src, func(s string) (string, error) { return replaceRegex(re, s, repl) })
		}
	}
	return src, nil
}

// replaceAll is strings.ReplaceAll with the result's size checked first:
// nested Replace calls would otherwise grow a value exponentially.
func replaceAll(s, old, repl string) (string, error) {
	if n := strings.Count(s, old); len(repl) > len(old) && n > 0 && (len(repl)-len(old)) > (MaxValueLength-len(s))/n {
		return "", errTooLong
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// replaceRegex is regexp's ReplaceAllString (same matches, same $-expansion)
// with the result's size checked as it grows.
func replaceRegex(re *regexp.Regexp, s, repl string) (string, error) {
	var out []byte
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		out = append(out, s[last:m[0]]...)
		out = re.ExpandString(out, repl, s, m)
		last = m[1]
		if len(out) > MaxValueLength {
			return "", errTooLong
		}
	}
	out = append(out, s[last:]...)
	if len(out) > MaxValueLength {
		return "", errTooLong
	}
	return string(out), nil
}

// replaceGroup replaces the text of group gi in every match of re with repl.
func replaceGroup(re *regexp.Regexp, gi int, s, repl string) (string, error) {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		st, en := m[2*gi], m[2*gi+1]
		if st < 0 || st < last {
			continue
		}
		b.WriteString(s[last:st])
		b.WriteString(repl)
		last = en
		if b.Len() > MaxValueLength {
			return "", errTooLong
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

func fnSelectUniqueValue(ev *evaluator, a args) (Value, error) {
	for _, v := range a.vals {
		if isNullOrEmpty(v) {
			continue
		}
		s := v.Str()
		if ev.env.Unique == nil {
			return String(s), nil
		}
		ok, err := ev.env.Unique.IsUnique(s)
		if err != nil {
			return Value{}, fmt.Errorf("uniqueness check of %q: %w", s, err)
		}
		if ok {
			return String(s), nil
		}
	}
	return Value{}, ErrNoUniqueValue
}

func fnSplit(_ *evaluator, a args) (Value, error) {
	if a.v(0).IsNull() {
		return Null(), nil
	}
	// Values are not trimmed, as .NET's String.Split does not; the doc's
	// example output drops a leading space only in its display.
	var out []string
	for _, s := range a.v(0).List() {
		if a.s(1) == "" {
			out = append(out, s)
			continue
		}
		out = append(out, strings.Split(s, a.s(1))...)
	}
	return Multi(out), nil
}

func fnStripSpaces(_ *evaluator, a args) (Value, error) {
	return mapStr(a.v(0), func(s string) string { return strings.ReplaceAll(s, " ", "") }), nil
}

func fnSwitch(_ *evaluator, a args) (Value, error) {
	// A null source matches the key "", which is how the doc says to
	// handle empty and null values.
	src := a.s(0)
	for i := 2; i+1 < a.n(); i += 2 {
		if a.s(i) == src {
			return a.v(i + 1), nil
		}
	}
	return a.v(1), nil
}

// turkic reports whether a culture name uses Turkish casing rules (dotted
// and dotless i).
func turkic(culture string) bool {
	c := strings.ToLower(culture)
	return c == "tr" || c == "az" || strings.HasPrefix(c, "tr-") || strings.HasPrefix(c, "az-")
}

func fnToLower(_ *evaluator, a args) (Value, error) {
	tr := turkic(a.s(1))
	return mapStr(a.v(0), func(s string) string {
		if tr {
			return strings.ToLowerSpecial(unicode.TurkishCase, s)
		}
		return strings.ToLower(s)
	}), nil
}

func fnToUpper(_ *evaluator, a args) (Value, error) {
	tr := turkic(a.s(1))
	return mapStr(a.v(0), func(s string) string {
		if tr {
			return strings.ToUpperSpecial(unicode.TurkishCase, s)
		}
		return strings.ToUpper(s)
	}), nil
}

func fnWord(_ *evaluator, a args) (Value, error) {
	n, err := a.int(1, "WordNumber")
	if err != nil {
		return Value{}, err
	}
	if a.v(0).IsNull() || n < 1 {
		return String(""), nil
	}
	words := strings.FieldsFunc(a.s(0), runeSet(a.s(2)))
	if n > len(words) {
		return String(""), nil
	}
	return String(words[n-1]), nil
}

func fnNormalizeDiacritics(_ *evaluator, a args) (Value, error) {
	return mapStr(a.v(0), normalizeDiacritics), nil
}

// normalizeDiacritics replaces accented Latin letters with their base
// letters by table, including letters with no Unicode decomposition
// (æ → ae, ø → oe, ß → ss, ł → l), as Entra's documented table does.
func normalizeDiacritics(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if rep, ok := diacritics[r]; ok {
			b.WriteString(rep)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

var diacritics = func() map[rune]string {
	m := map[rune]string{}
	for base, letters := range map[string]string{
		"A": "ÀÁÂÃÄÅĀĂĄǍ", "a": "àáâãäåāăąǎ", "C": "ÇĆĈĊČ", "c": "çćĉċč", "D": "ĎĐ", "d": "ďđ",
		"E": "ÈÉÊËĒĔĖĘĚ", "e": "èéêëēĕėęě", "G": "ĜĞĠĢ", "g": "ĝğġģ", "H": "ĤĦ", "h": "ĥħ",
		"I": "ÌÍÎÏĨĪĬĮİǏ", "i": "ìíîïĩīĭįıǐ", "J": "Ĵ", "j": "ĵ", "K": "Ķ", "k": "ķ",
		"L": "ĹĻĽĿŁ", "l": "ĺļľŀł", "N": "ÑŃŅŇ", "n": "ñńņň", "O": "ÒÓÔÕÖŌŎŐǑ", "o": "òóôõöōŏőǒ",
		"R": "ŔŖŘ", "r": "ŕŗř", "S": "ŚŜŞŠȘ", "s": "śŝşšș", "T": "ŢŤŦȚ", "t": "ţťŧț",
		"U": "ÙÚÛÜŨŪŬŮŰŲǓ", "u": "ùúûüũūŭůűųǔ", "W": "Ŵ", "w": "ŵ", "Y": "ÝŶŸ", "y": "ýÿŷ",
		"Z": "ŹŻŽ", "z": "źżž", "AE": "Æ", "ae": "æ", "OE": "ØŒ", "oe": "øœ", "ss": "ß",
		"TH": "Þ", "th": "þ",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()
