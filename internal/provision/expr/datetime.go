package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// entraLayout is how CDate, DateAdd, DateFromNum and Now print a date:
// .NET's "M/d/yyyy h:mm:ss tt" in UTC.
const entraLayout = "1/2/2006 3:04:05 PM"

// dateLayouts are the inputs CDate, DateAdd, DateDiff and NumFromDate read:
// ISO 8601 with or without time and offset (Entra's "2020-03-16-07:00" is a
// date with an offset, meaning local midnight), and Entra's own output form.
// A value without an offset is read as UTC.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02Z07:00",
	"2006-01-02",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"1/2/2006 15:04:05",
	"1/2/2006",
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date", s)
}

func formatEntra(t time.Time) string { return t.UTC().Format(entraLayout) }

// fileTimeEpoch is 1601-01-01 UTC, the epoch of Windows FILETIME values
// (AD's lastLogonTimestamp, accountExpires).
var fileTimeEpoch = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// unixFromFileTime is the number of seconds from 1601-01-01 to 1970-01-01.
const unixFromFileTime = 11644473600

// ticksPerSecond is the number of 100-ns FILETIME ticks in a second.
const ticksPerSecond = 10_000_000

func fromFileTime(n int64) time.Time {
	sec, rem := n/ticksPerSecond, n%ticksPerSecond
	// Via Unix seconds: a time.Duration overflows after 292 years.
	return time.Unix(sec-unixFromFileTime, rem*100).UTC()
}

func toFileTime(t time.Time) int64 {
	t = t.UTC()
	return (t.Unix()+unixFromFileTime)*ticksPerSecond + int64(t.Nanosecond()/100)
}

// dateAdd adds n intervals the way VB's DateAdd does.
func dateAdd(interval string, n int, t time.Time) (time.Time, error) {
	switch interval {
	case "yyyy":
		return t.AddDate(n, 0, 0), nil
	case "q":
		return t.AddDate(0, 3*n, 0), nil
	case "m":
		return t.AddDate(0, n, 0), nil
	case "y", "d", "w":
		return t.AddDate(0, 0, n), nil
	case "ww":
		return t.AddDate(0, 0, 7*n), nil
	case "h":
		return t.Add(time.Duration(n) * time.Hour), nil
	case "n":
		return t.Add(time.Duration(n) * time.Minute), nil
	case "s":
		return t.Add(time.Duration(n) * time.Second), nil
	}
	return time.Time{}, fmt.Errorf("unknown interval %q (want yyyy, q, m, y, d, w, ww, h, n or s)", interval)
}

// dayNumber counts days since the Unix epoch for t's calendar date in UTC.
func dayNumber(t time.Time) int64 {
	u := t.UTC()
	return int64(math.Floor(float64(time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC).Unix()) / 86400))
}

// dateDiff counts interval boundaries crossed from t1 to t2, as VB's
// DateDiff does (not elapsed time): "m" from 31 Jan to 1 Feb is 1, "ww"
// counts Sundays. Both dates are compared in UTC.
func dateDiff(interval string, t1, t2 time.Time) (int64, error) {
	a, b := t1.UTC(), t2.UTC()
	switch interval {
	case "yyyy":
		return int64(b.Year() - a.Year()), nil
	case "q":
		return int64((b.Year()-a.Year())*4 + (int(b.Month())-1)/3 - (int(a.Month())-1)/3), nil
	case "m":
		return int64((b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())), nil
	case "y", "d", "w":
		// VB's "w" counts whole weeks; Entra's table only uses "d" and "ww".
		if interval == "w" {
			return (dayNumber(b) - dayNumber(a)) / 7, nil
		}
		return dayNumber(b) - dayNumber(a), nil
	case "ww":
		// Day 0 (1970-01-01) was a Thursday: shift so weeks start on Sunday.
		week := func(t time.Time) int64 { return floorDiv(dayNumber(t)+4, 7) }
		return week(b) - week(a), nil
	case "h":
		return floorDiv(b.Unix(), 3600) - floorDiv(a.Unix(), 3600), nil
	case "n":
		return floorDiv(b.Unix(), 60) - floorDiv(a.Unix(), 60), nil
	case "s":
		return b.Unix() - a.Unix(), nil
	}
	return 0, fmt.Errorf("unknown interval %q (want yyyy, q, m, y, d, w, ww, h, n or s)", interval)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// netToken is one piece of a .NET custom date format: a run of one
// specifier letter, or literal text.
type netToken struct {
	spec byte // 0 for a literal
	n    int
	lit  string
}

func tokenizeNetFormat(f string) []netToken {
	var out []netToken
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case strings.IndexByte("yMdHhmsfFtzK", c) >= 0:
			j := i
			for j < len(f) && f[j] == c {
				j++
			}
			out = append(out, netToken{spec: c, n: j - i})
			i = j
		case c == '\'' || c == '"':
			j := strings.IndexByte(f[i+1:], c)
			if j < 0 {
				j = len(f) - i - 1
			}
			out = append(out, netToken{lit: f[i+1 : i+1+j]})
			i += j + 2
		case c == '\\' && i+1 < len(f):
			out = append(out, netToken{lit: f[i+1 : i+2]})
			i += 2
		default:
			out = append(out, netToken{lit: f[i : i+1]})
			i++
		}
	}
	return out
}

// parseNet reads s by a .NET custom format string such as
// "yyyyMMddHHmmss.fZ" (there Z is a literal). Without an offset the time is UTC.
func parseNet(s, format string) (time.Time, error) {
	year, month, day := 1, 1, 1
	hour, minute, sec, nsec := 0, 0, 0, 0
	pm, ampm := false, false
	loc := time.UTC
	i := 0
	digits := func(min, max int) (int, error) {
		j := i
		for j < len(s) && j-i < max && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j-i < min {
			return 0, fmt.Errorf("%q does not match %q at byte %d", s, format, i)
		}
		v, _ := strconv.Atoi(s[i:j])
		i = j
		return v, nil
	}
	var err error
	for _, t := range tokenizeNetFormat(format) {
		if t.spec == 0 {
			if !strings.HasPrefix(s[i:], t.lit) {
				return time.Time{}, fmt.Errorf("%q does not match %q at byte %d", s, format, i)
			}
			i += len(t.lit)
			continue
		}
		switch t.spec {
		case 'y':
			switch {
			case t.n <= 2:
				year, err = digits(t.n, 2)
				year += 2000
			default:
				year, err = digits(t.n, t.n)
			}
		case 'M':
			if t.n >= 3 {
				found := false
				for m := time.January; m <= time.December; m++ {
					name := m.String()
					if t.n == 3 {
						name = name[:3]
					}
					if len(s)-i >= len(name) && strings.EqualFold(s[i:i+len(name)], name) {
						month, i, found = int(m), i+len(name), true
						break
					}
				}
				if !found {
					err = fmt.Errorf("%q: no month name at byte %d", s, i)
				}
			} else {
				month, err = digits(t.n, 2)
			}
		case 'd':
			if t.n >= 3 {
				j := i
				for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z') {
					j++
				}
				i = j
			} else {
				day, err = digits(t.n, 2)
			}
		case 'H', 'h':
			hour, err = digits(min(t.n, 2), 2)
			ampm = ampm || t.spec == 'h'
		case 'm':
			minute, err = digits(min(t.n, 2), 2)
		case 's':
			sec, err = digits(min(t.n, 2), 2)
		case 'f', 'F':
			min := t.n
			if t.spec == 'F' {
				min = 0
			}
			start := i
			var f int
			f, err = digits(min, t.n)
			for k := i - start; k < 9; k++ {
				f *= 10
			}
			nsec = f
		case 't':
			up := strings.ToUpper(s[i:])
			switch {
			case strings.HasPrefix(up, "PM"), strings.HasPrefix(up, "AM"):
				pm = up[0] == 'P'
				i += min(t.n, 2)
			case strings.HasPrefix(up, "P"), strings.HasPrefix(up, "A"):
				pm = up[0] == 'P'
				i++
			default:
				err = fmt.Errorf("%q: no AM/PM at byte %d", s, i)
			}
		case 'z', 'K':
			if t.spec == 'K' && strings.HasPrefix(s[i:], "Z") {
				i++
				continue
			}
			if i >= len(s) || (s[i] != '+' && s[i] != '-') {
				if t.spec == 'K' {
					continue
				}
				return time.Time{}, fmt.Errorf("%q: no offset at byte %d", s, i)
			}
			sign := 1
			if s[i] == '-' {
				sign = -1
			}
			i++
			var hh, mm int
			if hh, err = digits(1, 2); err == nil && (t.n >= 3 || t.spec == 'K') {
				if i < len(s) && s[i] == ':' {
					i++
				}
				mm, err = digits(2, 2)
			}
			loc = time.FixedZone("", sign*(hh*3600+mm*60))
		}
		if err != nil {
			return time.Time{}, err
		}
	}
	if i != len(s) {
		return time.Time{}, fmt.Errorf("%q has extra text after %q", s, format)
	}
	if ampm || pm {
		hour %= 12
		if pm {
			hour += 12
		}
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fmt.Errorf("%q is not a valid date for %q", s, format)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), nil
}

// formatNet prints t by a .NET custom format string.
func formatNet(t time.Time, format string) string {
	var b strings.Builder
	pad := func(v, n int) { fmt.Fprintf(&b, "%0*d", n, v) }
	for _, tk := range tokenizeNetFormat(format) {
		switch tk.spec {
		case 0:
			b.WriteString(tk.lit)
		case 'y':
			switch {
			case tk.n == 1:
				b.WriteString(strconv.Itoa(t.Year() % 100))
			case tk.n == 2:
				pad(t.Year()%100, 2)
			default:
				pad(t.Year(), tk.n)
			}
		case 'M':
			switch tk.n {
			case 1, 2:
				pad(int(t.Month()), tk.n)
			case 3:
				b.WriteString(t.Month().String()[:3])
			default:
				b.WriteString(t.Month().String())
			}
		case 'd':
			switch tk.n {
			case 1, 2:
				pad(t.Day(), tk.n)
			case 3:
				b.WriteString(t.Weekday().String()[:3])
			default:
				b.WriteString(t.Weekday().String())
			}
		case 'H':
			pad(t.Hour(), min(tk.n, 2))
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(h, min(tk.n, 2))
		case 'm':
			pad(t.Minute(), min(tk.n, 2))
		case 's':
			pad(t.Second(), min(tk.n, 2))
		case 'f', 'F':
			n := min(tk.n, 9)
			frac := fmt.Sprintf("%09d", t.Nanosecond())[:n]
			if tk.spec == 'F' {
				frac = strings.TrimRight(frac, "0")
			}
			b.WriteString(frac)
		case 't':
			ap := "AM"
			if t.Hour() >= 12 {
				ap = "PM"
			}
			b.WriteString(ap[:min(tk.n, 2)])
		case 'z', 'K':
			_, off := t.Zone()
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			switch {
			case tk.spec == 'K' && t.Location() == time.UTC:
				b.WriteByte('Z')
			case tk.spec == 'z' && tk.n == 1:
				fmt.Fprintf(&b, "%c%d", sign, off/3600)
			case tk.spec == 'z' && tk.n == 2:
				fmt.Fprintf(&b, "%c%02d", sign, off/3600)
			default:
				fmt.Fprintf(&b, "%c%02d:%02d", sign, off/3600, off%3600/60)
			}
		}
	}
	return b.String()
}

// epochForCheck is any valid time, for checking an interval name.
var epochForCheck = time.Unix(0, 0).UTC()
