// Package rfc3339 reads RFC 3339 §5.6 date-time text: the one grammar of the times
// rules see, an event's time (window.ParseTime) and a rules file's test times
// (record_time, window_start), so that a text counted as an event's time is one a test
// can write, and the reverse. time.Parse(time.RFC3339Nano) is not that grammar: it
// takes more (a one-digit hour, a comma before the fraction, an offset of +24:00) and
// less (a lower-case t or z, a leap second).
package rfc3339

import "time"

// Form says what Parse takes, for the error that refuses a text.
const Form = "YYYY-MM-DDTHH:MM:SS, an optional .fraction, then Z or an offset ±HH:MM up to ±23:59; " +
	"T and Z in either case; a leap second (:60) is the second after it"

// Parse reads s as RFC 3339 §5.6 date-time text: its grammar checked here, then its
// value read by time.Parse (which checks the day of the month). A leap second is taken
// as the second after it, since Go's time has none. The year is 0000 to 9999, as the
// grammar writes it, in s's own offset: the caller bounds the UTC time it needs.
func Parse(s string) (time.Time, bool) {
	// YYYY-MM-DDTHH:MM:SS, then .fraction, then Z or ±HH:MM.
	const head = len("2006-01-02T15:04:05")
	if len(s) < head+1 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, false
		}
	}
	if s[10] != 'T' && s[10] != 't' {
		return time.Time{}, false
	}
	two := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	if two(11) > 23 || two(14) > 59 || two(17) > 60 {
		return time.Time{}, false
	}
	rest := s[head:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return time.Time{}, false
		}
		rest = rest[n:]
	}
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		isDigits(rest[1:3]) && isDigits(rest[4:6]) && (rest[1]-'0')*10+(rest[2]-'0') <= 23 && (rest[4]-'0')*10+(rest[5]-'0') <= 59:
	default:
		return time.Time{}, false
	}
	// time.Parse reads the rest; a leap second is read as :59, then a second added. Most
	// text needs neither change, nor the copy they take.
	leap := two(17) == 60
	if s[10] == 't' || s[len(s)-1] == 'z' || leap {
		b := []byte(s)
		b[10] = 'T'
		if last := len(b) - 1; b[last] == 'z' {
			b[last] = 'Z'
		}
		if leap {
			b[17], b[18] = '5', '9'
		}
		s = string(b)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	if leap {
		t = t.Add(time.Second)
	}
	return t, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
