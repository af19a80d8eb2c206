package push

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ColumnMap is the first stage of a CSV upload: which CSV column holds
// each SCIM attribute of the source record. The job's attribute mappings
// are the second stage, in the engine.
type ColumnMap struct {
	// ExternalID names the column holding the record's anchor.
	ExternalID string `json:"externalId" yaml:"externalId"`
	// Columns maps a column to a SCIM attribute path of the record:
	// "userName", "name.givenName", `emails[type eq "work"].value`,
	// "active" (a boolean), or an extension's attribute by its URN, such
	// as "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
	// or "…:User:manager.value".
	Columns map[string]string `json:"columns" yaml:"columns"`
	// Ignore lists columns the file has and the records leave out.
	Ignore []string `json:"ignore,omitempty" yaml:"ignore,omitempty"`
}

// DefaultColumnMap fits the columns of a common HR export (the names of
// Microsoft's CSV2SCIM sample, and their usual variants). Column names are
// matched without regard to case.
func DefaultColumnMap() ColumnMap {
	ent := EnterpriseSchema + ":"
	return ColumnMap{
		ExternalID: "EmployeeID",
		Columns: map[string]string{
			"EmployeeID":        ent + "employeeNumber",
			"UserName":          "userName",
			"UserPrincipalName": "userName",
			"DisplayName":       "displayName",
			"FirstName":         "name.givenName",
			"GivenName":         "name.givenName",
			"LastName":          "name.familyName",
			"Surname":           "name.familyName",
			"Email":             `emails[type eq "work"].value`,
			"WorkEmail":         `emails[type eq "work"].value`,
			"Phone":             `phoneNumbers[type eq "work"].value`,
			"WorkPhone":         `phoneNumbers[type eq "work"].value`,
			"Mobile":            `phoneNumbers[type eq "mobile"].value`,
			"Title":             "title",
			"JobTitle":          "title",
			"Active":            "active",
			"Department":        ent + "department",
			"Division":          ent + "division",
			"CostCenter":        ent + "costCenter",
			"Organization":      ent + "organization",
			"Manager":           ent + "manager.value",
			"ManagerID":         ent + "manager.value",
		},
	}
}

// ParseColumnMap reads a column map from YAML or JSON and checks its paths.
func ParseColumnMap(doc []byte) (ColumnMap, error) {
	var m ColumnMap
	d := yaml.NewDecoder(bytes.NewReader(doc))
	d.KnownFields(true)
	if err := d.Decode(&m); err != nil {
		return ColumnMap{}, fmt.Errorf("column map: %w", err)
	}
	if strings.TrimSpace(m.ExternalID) == "" {
		return ColumnMap{}, errors.New("column map: externalId must name the column holding the anchor")
	}
	for col, path := range m.Columns {
		if _, err := parseAttrPath(path); err != nil {
			return ColumnMap{}, fmt.Errorf("column map: column %q: %w", col, err)
		}
	}
	return m, nil
}

// attrPath is a parsed SCIM attribute path of a column.
type attrPath struct {
	urn       string // an extension's URN, or "" for the core schema
	attr, sub string // attribute and sub-attribute ("" if none)
	// typ is the type of a multi-valued attribute's element
	// (`emails[type eq "work"]`), or "".
	typ string
}

var (
	namePart  = `[A-Za-z][A-Za-z0-9_$-]*`
	pathRE    = regexp.MustCompile(`^(` + namePart + `)(?:\.(` + namePart + `))?$`)
	typedRE   = regexp.MustCompile(`^(` + namePart + `)\[type eq "([^"]+)"\]\.(` + namePart + `)$`)
	errNoPath = errors.New(`an attribute path is "attr", "attr.sub", "attr[type eq \"t\"].sub" or "urn:…:attr[.sub]"`)
)

func parseAttrPath(p string) (attrPath, error) {
	var ap attrPath
	rest := p
	if strings.HasPrefix(strings.ToLower(p), "urn:") {
		i := strings.LastIndex(p, ":")
		ap.urn, rest = p[:i], p[i+1:]
		if ap.urn == "" || rest == "" {
			return attrPath{}, fmt.Errorf("path %q: %w", p, errNoPath)
		}
	}
	if m := typedRE.FindStringSubmatch(rest); m != nil && ap.urn == "" {
		ap.attr, ap.typ, ap.sub = m[1], m[2], m[3]
		return ap, nil
	}
	m := pathRE.FindStringSubmatch(rest)
	if m == nil {
		return attrPath{}, fmt.Errorf("path %q: %w", p, errNoPath)
	}
	ap.attr, ap.sub = m[1], m[2]
	if strings.EqualFold(ap.attr, "schemas") || strings.EqualFold(ap.attr, "externalId") {
		return attrPath{}, fmt.Errorf("path %q: set by the upload itself", p)
	}
	return ap, nil
}

// RowProblem is what is wrong with one line of a CSV file; Line 1 is the
// header.
type RowProblem struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Problem string `json:"problem"`
}

func (p RowProblem) String() string {
	if p.Column != "" {
		return fmt.Sprintf("line %d, column %s: %s", p.Line, p.Column, p.Problem)
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Problem)
}

// MaxCSVBytes bounds a CSV file's size (about a million records of 200
// bytes).
const MaxCSVBytes = 256 << 20

// ReadCSV maps a CSV file to source records with the column map: each row
// becomes a SCIM user whose externalId is its ExternalID column. It
// returns every problem it finds (unknown columns, rows without an
// externalId, a bad boolean, an externalId used twice) along with the
// records of the rows without one. A UTF-8 byte order mark is dropped, and
// the separator is a comma, or a semicolon when the header has no comma
// (as spreadsheet exports in many locales write).
func ReadCSV(r io.Reader, m ColumnMap) ([]Record, []RowProblem, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCSVBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read the CSV file: %w", err)
	}
	if len(data) > MaxCSVBytes {
		return nil, nil, fmt.Errorf("the CSV file exceeds %d bytes", MaxCSVBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		// A spreadsheet saved as Windows-1252 would otherwise send
		// U+FFFD in names; say where, so that it is saved as UTF-8.
		n := 0
		for n < len(data) {
			r, size := utf8.DecodeRune(data[n:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			n += size
		}
		return nil, nil, fmt.Errorf("the CSV file is not UTF-8 (line %d): save it as UTF-8 (CSV UTF-8 in Excel)", 1+bytes.Count(data[:n], []byte("\n")))
	}
	cr := csv.NewReader(bytes.NewReader(data))
	header, _, _ := bytes.Cut(data, []byte("\n"))
	if !bytes.Contains(header, []byte(",")) && bytes.Contains(header, []byte(";")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = 0
	head, err := cr.Read()
	if err == io.EOF {
		return nil, nil, errors.New("the CSV file is empty: it needs a header line")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("CSV header: %w", err)
	}
	cols, problems := planColumns(head, m)
	var (
		recs  []Record
		seen  = map[string]int{} // externalId → line
		lines = 1
	)
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		lines++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				lines = pe.Line
				problems = append(problems, RowProblem{Line: pe.Line, Problem: pe.Err.Error()})
				if errors.Is(pe.Err, csv.ErrFieldCount) {
					continue
				}
			}
			return recs, problems, fmt.Errorf("CSV line %d: %w", lines, err)
		}
		line, _ := cr.FieldPos(0)
		rec, rowProblems := mapRow(line, row, head, cols)
		problems = append(problems, rowProblems...)
		if len(rowProblems) > 0 {
			continue
		}
		if first, ok := seen[rec.ExternalID]; ok {
			problems = append(problems, RowProblem{Line: line, Column: cols.externalName,
				Problem: fmt.Sprintf("externalId %q is also on line %d", rec.ExternalID, first)})
			continue
		}
		seen[rec.ExternalID] = line
		rec.Op = len(recs)
		recs = append(recs, rec)
	}
	return recs, problems, nil
}

// columnPlan says what each CSV column becomes.
type columnPlan struct {
	external     int // index of the externalId column, -1 if missing
	externalName string
	paths        []*attrPath // by column; nil: ignored
}

func planColumns(head []string, m ColumnMap) (columnPlan, []RowProblem) {
	plan := columnPlan{external: -1, externalName: m.ExternalID, paths: make([]*attrPath, len(head))}
	var problems []RowProblem
	lookup := func(name string) (string, bool) {
		for k, v := range m.Columns {
			if strings.EqualFold(k, name) {
				return v, true
			}
		}
		return "", false
	}
	taken := map[string]bool{}
	for i, h := range head {
		h = strings.TrimSpace(h)
		if taken[strings.ToLower(h)] {
			problems = append(problems, RowProblem{Line: 1, Column: h, Problem: "the column appears twice in the header"})
			continue
		}
		taken[strings.ToLower(h)] = true
		known := false
		if strings.EqualFold(h, m.ExternalID) {
			plan.external, plan.externalName, known = i, h, true
		}
		if p, ok := lookup(h); ok {
			ap, err := parseAttrPath(p)
			if err != nil {
				problems = append(problems, RowProblem{Line: 1, Column: h, Problem: err.Error()})
				continue
			}
			plan.paths[i], known = &ap, true
		}
		if !known && !slices.ContainsFunc(m.Ignore, func(s string) bool { return strings.EqualFold(s, h) }) {
			problems = append(problems, RowProblem{Line: 1, Column: h,
				Problem: "unknown column: map it to an attribute in the column map, or list it under ignore"})
		}
	}
	if plan.external < 0 {
		problems = append(problems, RowProblem{Line: 1, Column: m.ExternalID,
			Problem: "the externalId column is missing from the header"})
	}
	return plan, problems
}

// mapRow builds one record from a row.
func mapRow(line int, row, head []string, plan columnPlan) (Record, []RowProblem) {
	var problems []RowProblem
	doc := map[string]any{}
	schemas := []any{UserSchema}
	rec := Record{}
	if plan.external >= 0 && plan.external < len(row) {
		rec.ExternalID = strings.TrimSpace(row[plan.external])
	}
	if rec.ExternalID == "" {
		problems = append(problems, RowProblem{Line: line, Column: plan.externalName, Problem: "no externalId: the row has no anchor"})
	}
	doc["externalId"] = rec.ExternalID
	for i, v := range row {
		if i >= len(plan.paths) || plan.paths[i] == nil {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			continue // an empty cell says nothing about the attribute
		}
		ap := plan.paths[i]
		var val any = v
		if ap.urn == "" && ap.sub == "" && strings.EqualFold(ap.attr, "active") {
			b, ok := parseBool(v)
			if !ok {
				problems = append(problems, RowProblem{Line: line, Column: head[i],
					Problem: fmt.Sprintf("%q is not a boolean (true/false, yes/no, 1/0)", v)})
				continue
			}
			val = b
		}
		if ap.urn != "" && !slices.Contains(schemas, any(ap.urn)) {
			schemas = append(schemas, ap.urn)
		}
		set(doc, *ap, val)
		if strings.EqualFold(ap.attr, "userName") && ap.urn == "" {
			rec.UserName = v
		}
	}
	doc["schemas"] = schemas
	b, err := json.Marshal(doc)
	if err != nil {
		problems = append(problems, RowProblem{Line: line, Problem: err.Error()})
	}
	rec.Data = b
	return rec, problems
}

// set writes a value at a path into a record.
func set(doc map[string]any, ap attrPath, v any) {
	target := doc
	if ap.urn != "" {
		ext, _ := doc[ap.urn].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			doc[ap.urn] = ext
		}
		target = ext
	}
	switch {
	case ap.typ != "":
		list, _ := target[ap.attr].([]any)
		for _, e := range list {
			if el := e.(map[string]any); el["type"] == ap.typ {
				el[ap.sub] = v
				return
			}
		}
		target[ap.attr] = append(list, map[string]any{"type": ap.typ, ap.sub: v})
	case ap.sub != "":
		c, _ := target[ap.attr].(map[string]any)
		if c == nil {
			c = map[string]any{}
			target[ap.attr] = c
		}
		c[ap.sub] = v
	default:
		target[ap.attr] = v
	}
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "y", "1", "active":
		return true, true
	case "false", "no", "n", "0", "inactive", "terminated":
		return false, true
	}
	return false, false
}

// Requests splits records into BulkRequests of at most MaxOperations.
func Requests(recs []Record) []BulkRequest {
	var out []BulkRequest
	for start := 0; start < len(recs); start += MaxOperations {
		chunk := recs[start:min(start+MaxOperations, len(recs))]
		req := BulkRequest{Schemas: []string{BulkRequestSchema}}
		for _, r := range chunk {
			req.Operations = append(req.Operations, Operation{Method: "POST", BulkID: r.ExternalID, Path: "/Users", Data: r.Data})
		}
		out = append(out, req)
	}
	return out
}
