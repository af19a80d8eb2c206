package validate

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	URL      string          `json:"url"`
	RunID    string          `json:"runId"`
	Started  time.Time       `json:"started"`
	Duration time.Duration   `json:"durationNs"`
	Profiles []ProfileReport `json:"profiles"`
	Cleanup  Cleanup         `json:"cleanup"`
}

// ProfileReport holds the results of one profile, in table order.
type ProfileReport struct {
	Name    string   `json:"name"`
	Results []Result `json:"results"`
}

// Result is the outcome of one check. Request and Response are the last
// exchange of a failed check.
type Result struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Source   string        `json:"source"`
	Required bool          `json:"required"`
	Status   Status        `json:"status"`
	Duration time.Duration `json:"durationNs"`
	Detail   string        `json:"detail,omitempty"`
	Request  *Request      `json:"request,omitempty"`
	Response *Response     `json:"response,omitempty"`
}

// Cleanup says what deleting the run's resources did.
type Cleanup struct {
	Deleted  int      `json:"deleted"`
	Problems []string `json:"problems,omitempty"`
}

// Passed reports whether every required check passed. A required check
// skipped because an earlier one failed counts through that failure; one
// skipped because the run was interrupted makes the run fail.
func (rep *Report) Passed() bool {
	for _, p := range rep.Profiles {
		for _, r := range p.Results {
			if r.Required && (r.Status == Fail || r.Detail == "interrupted") {
				return false
			}
		}
	}
	return true
}

// Failed returns the number of required checks that failed.
func (rep *Report) Failed() int {
	n := 0
	for _, p := range rep.Profiles {
		for _, r := range p.Results {
			if r.Required && r.Status == Fail {
				n++
			}
		}
	}
	return n
}

// counts returns pass, fail and skip counts of a profile.
func (p ProfileReport) counts() (pass, fail, skip int) {
	for _, r := range p.Results {
		switch r.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		case Skip:
			skip++
		}
	}
	return
}

// WriteText writes the report for a terminal.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "SCIM endpoint %s (run %s)\n", rep.URL, rep.RunID)
	for _, p := range rep.Profiles {
		fmt.Fprintf(&b, "\n== %s\n", p.Name)
		for _, r := range p.Results {
			kind := "required"
			if !r.Required {
				kind = "optional"
			}
			fmt.Fprintf(&b, "%-4s %-36s %s [%s; %s]", strings.ToUpper(string(r.Status)), r.ID, r.Name, kind, r.Source)
			if r.Status != Skip {
				fmt.Fprintf(&b, " %s", r.Duration.Round(time.Millisecond))
			}
			b.WriteString("\n")
			if r.Detail != "" {
				fmt.Fprintf(&b, "     %s\n", r.Detail)
			}
			if r.Status == Fail {
				b.WriteString(indent(exchange(r), "     "))
			}
		}
		pass, fail, skip := p.counts()
		fmt.Fprintf(&b, "%s: %d passed, %d failed, %d skipped\n", p.Name, pass, fail, skip)
	}
	fmt.Fprintf(&b, "\ncleanup: %d resources deleted\n", rep.Cleanup.Deleted)
	for _, p := range rep.Cleanup.Problems {
		fmt.Fprintf(&b, "cleanup problem: %s\n", p)
	}
	if rep.Passed() {
		b.WriteString("result: every required check passed\n")
	} else {
		fmt.Fprintf(&b, "result: FAILED (%d required checks failed)\n", rep.Failed())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// exchange formats a failed check's request and response.
func exchange(r Result) string {
	var b strings.Builder
	if r.Request != nil {
		fmt.Fprintf(&b, "> %s %s\n", r.Request.Method, r.Request.URL)
		for k, v := range r.Request.Header {
			fmt.Fprintf(&b, "> %s: %s\n", k, v)
		}
		if r.Request.Body != "" {
			fmt.Fprintf(&b, "> %s\n", r.Request.Body)
		}
	}
	if r.Response != nil {
		fmt.Fprintf(&b, "< %d\n", r.Response.Status)
		if r.Response.Body != "" {
			fmt.Fprintf(&b, "< %s\n", r.Response.Body)
		}
	}
	return b.String()
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes JUnit XML: one testsuite per profile, one testcase per
// check, failures with the request and response.
func (rep *Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Name: "roster validate " + rep.URL}
	for _, p := range rep.Profiles {
		s := junitSuite{Name: p.Name}
		var d time.Duration
		for _, r := range p.Results {
			d += r.Duration
			kind := "required"
			if !r.Required {
				kind = "optional"
			}
			c := junitCase{
				Name:      r.ID + ": " + r.Name,
				Classname: "validate." + p.Name,
				Time:      seconds(r.Duration),
				SystemOut: fmt.Sprintf("source: %s (%s)", r.Source, kind),
			}
			switch r.Status {
			case Fail:
				// An optional failure is a warning, not a failed suite.
				if r.Required {
					s.Failures++
					c.Failure = &junitMessage{Message: r.Detail, Text: r.Detail + "\n" + exchange(r)}
				} else {
					c.SystemOut += "\noptional check failed: " + r.Detail + "\n" + exchange(r)
				}
			case Skip:
				s.Skipped++
				c.Skipped = &junitMessage{Message: r.Detail}
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests, s.Time = len(s.Cases), seconds(d)
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
