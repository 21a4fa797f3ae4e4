package client

import (
	"fmt"
	"time"
)

// DateLayout is the wire format of a [Date]: YYYY-MM-DD.
const DateLayout = "2006-01-02"

// Date is a civil calendar day in UTC, the unit SendGrid scores are computed
// for. The zero Date is "no date"; see [Date.IsZero].
//
// Date marshals to and from JSON and text as "YYYY-MM-DD".
type Date struct {
	// Year, e.g. 2026.
	Year int
	// Month of the year, January = 1.
	Month time.Month
	// Day of the month, from 1.
	Day int
}

// ParseDate parses s as YYYY-MM-DD. It rejects anything else, including
// out-of-range days such as 2024-02-30.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", truncate(s, 40))
	}
	return DateOf(t), nil
}

// MustParseDate is like [ParseDate] but panics on error. It is meant for
// tests and package-level variables with constant input.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf returns the UTC calendar day that contains t.
func DateOf(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return Date{Year: y, Month: m, Day: d}
}

// Today returns the current UTC day.
func Today() Date { return DateOf(time.Now()) }

// Time returns midnight UTC at the start of d.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// AddDays returns d moved by n days (n may be negative).
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// DaysSince returns the number of days from o to d (d - o).
func (d Date) DaysSince(o Date) int {
	return int(d.Time().Sub(o.Time()).Hours() / 24)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int { return d.Time().Compare(o.Time()) }

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String returns d as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText implements [encoding.TextMarshaler].
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler]. Empty text gives the
// zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
