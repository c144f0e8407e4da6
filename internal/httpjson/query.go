package httpjson

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Query is r's query string, read whole; when a part of it cannot be read it answers
// 400 naming that parameter and returns false. r.URL.Query() drops such a pair
// silently (its parse error is discarded), so a cursor mangled in transit restarted
// paging, a mangled customer listed every customer and a mangled limit took the
// default: answers to another question, given as if to this one.
func Query(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	q, err := ParseQuery(r.URL.RawQuery)
	if err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return q, true
}

// ParseQuery reads a query string as url.ParseQuery does; its error names the
// parameter that could not be read and why.
func ParseQuery(raw string) (url.Values, error) {
	q, err := url.ParseQuery(raw)
	if err == nil {
		return q, nil
	}
	for pair := range strings.SplitSeq(raw, "&") {
		if strings.Contains(pair, ";") {
			return nil, fmt.Errorf("the query string has a semicolon (in %q): parameters are separated by & (a ; in a value is written %%3B)", pair)
		}
		key, value, _ := strings.Cut(pair, "=")
		name, kerr := url.QueryUnescape(key)
		if kerr != nil {
			return nil, fmt.Errorf("the query parameter name %q is not valid percent-encoding (%w): a %% is written %%25", key, kerr)
		}
		if _, verr := url.QueryUnescape(value); verr != nil {
			return nil, fmt.Errorf("the query parameter %q is not valid percent-encoding (%w): a %% is written %%25", name, verr)
		}
	}
	return nil, fmt.Errorf("the query string cannot be read: %w", err)
}

// PositiveInt reads a query parameter that counts something, 1 or more: a number of
// all digits past int's range (a script's "all of them") is math.MaxInt, as far over
// any cap as one can ask, for the caller to refuse or cap as it does a large one,
// rather than a malformed number.
func PositiveInt(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) && n > 0 {
		return n, true // Atoi gives the largest int
	}
	return n, err == nil && n >= 1
}
