package httpjson

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Query is r's query string, read whole; when a part of it cannot be read, a parameter
// is not one of names (the parameters the handler reads), or a parameter is given more
// than once, it answers 400 naming that parameter and returns false. r.URL.Query()
// drops such a pair silently (its parse error is discarded), so a cursor mangled in
// transit restarted paging, a mangled customer listed every customer and a mangled
// limit took the default: answers to another question, given as if to this one. A
// misspelled name (customers=, lmit=) is as mangled: the handler never reads it, and
// answered as if it had not been given. A parameter given twice is as ambiguous: every
// handler reads one value (url.Values.Get, the first), while a proxy or framework in
// front may act on the last, and DELETE ?scope=*&id=x&scope=c-1 deleted the first
// scope's rule. repeatable names the parameters a handler takes as a list, which may be
// given more than once (none does today); they need not be repeated in names.
func Query(w http.ResponseWriter, r *http.Request, names []string, repeatable ...string) (url.Values, bool) {
	q, err := ParseQuery(r.URL.RawQuery, names, repeatable...)
	if err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return q, true
}

// ParseQuery reads a query string as url.ParseQuery does, and refuses a parameter not
// one of names or repeatable, and one given more than once unless it is one of
// repeatable; its error names the parameter that could not be read and why, and for an
// unknown one the names that are read.
func ParseQuery(raw string, names []string, repeatable ...string) (url.Values, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, parseError(raw, err)
	}
	var unknown, twice []string
	for name, values := range q {
		switch {
		case !slices.Contains(names, name) && !slices.Contains(repeatable, name):
			unknown = append(unknown, name)
		case len(values) > 1 && !slices.Contains(repeatable, name):
			twice = append(twice, name)
		}
	}
	// Sorted: one answer for one query, whatever the map's order.
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("the query parameter %q is not one this endpoint reads (%s): a name it does not read would be taken as absent", unknown[0], known(names, repeatable))
	}
	if len(twice) > 0 {
		slices.Sort(twice)
		return nil, fmt.Errorf("the query parameter %q is given %d times: name each parameter once", twice[0], len(q[twice[0]]))
	}
	return q, nil
}

// known says which parameters an endpoint reads, for the answer to one it does not.
func known(names, repeatable []string) string {
	var all []string
	for _, n := range slices.Concat(names, repeatable) {
		if !slices.Contains(all, n) {
			all = append(all, n)
		}
	}
	if len(all) == 0 {
		return "it reads none"
	}
	return "it reads " + strings.Join(all, ", ")
}

// parseError names the pair of raw that url.ParseQuery could not read (its err).
func parseError(raw string, err error) error {
	for pair := range strings.SplitSeq(raw, "&") {
		if strings.Contains(pair, ";") {
			return fmt.Errorf("the query string has a semicolon (in %q): parameters are separated by & (a ; in a value is written %%3B)", pair)
		}
		key, value, _ := strings.Cut(pair, "=")
		name, kerr := url.QueryUnescape(key)
		if kerr != nil {
			return fmt.Errorf("the query parameter name %q is not valid percent-encoding (%w): a %% is written %%25", key, kerr)
		}
		if _, verr := url.QueryUnescape(value); verr != nil {
			return fmt.Errorf("the query parameter %q is not valid percent-encoding (%w): a %% is written %%25", name, verr)
		}
	}
	return fmt.Errorf("the query string cannot be read: %w", err)
}

// PositiveInt reads a query parameter that counts something, 1 or more: a number of
// all digits past int's range (a script's "all of them") is math.MaxInt, as far over
// any cap as one can ask, for the caller to refuse or cap as it does a large one,
// rather than a malformed number.
func PositiveInt(s string) (int, bool) {
	n, ok := NonNegativeInt(s)
	return n, ok && n >= 1
}

// NonNegativeInt reads a query parameter that counts something, 0 or more (0 asking
// for none of it), as PositiveInt does.
func NonNegativeInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) && n > 0 {
		return n, true // Atoi gives the largest int
	}
	return n, err == nil && n >= 0
}
