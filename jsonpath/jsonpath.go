// Package jsonpath is the RFC 9535 JSONPath engine shared by the live evaluator and
// backfill. It evaluates compiled paths over raw event bytes without decoding them.
//
// Contract:
//
//   - Syntax and semantics are RFC 9535: name, index, wildcard, slice and filter
//     selectors, descendant segments, filters with ||, && and !, comparisons of
//     singular queries, and the functions length, count, match, search and value,
//     type-checked at parse time. match/search patterns are I-Regexp (RFC 9485),
//     translated to RE2 ('.' excludes \n and \r; match is a full match); an invalid
//     pattern makes the function false. Jayway-style filters such as
//     $.store.book[?(@.category == 'fiction')].price are valid RFC 9535 and work as is.
//     Invalid expressions yield a *SyntaxError with the offending column.
//   - Document.Reset validates the whole document (grammar, UTF-8, depth) in one pass
//     and records a structural index of byte offsets; invalid input yields an error
//     wrapping ErrInvalidJSON that names the byte offset, never a panic. Nothing is
//     decoded there: strings and numbers are decoded only when a path selects or
//     compares them, and object lookups done for one path are memoized for the
//     others on the same document, so paths sharing a prefix do not rescan it.
//   - Limits: nesting depth MaxDepth (1000; deeper documents are rejected with
//     ErrTooDeep), filter nesting MaxFilterDepth (64), expression length MaxExprLen;
//     paths may have any number of segments. Each Eval has a work budget
//     (ErrEvalLimit) so that exponential queries over hostile documents end.
//   - Numbers are float64: 1 == 1.0 == 1e0; integers beyond 2^53 are rounded to the
//     nearest float64 and so compare approximately (2^53 == 2^53+1). A number never
//     equals a string. Object member names that repeat resolve to the first member.
//   - Values returned by Eval alias the bytes given to Reset; a Path is immutable and
//     safe for concurrent use, a Document is per goroutine.
package jsonpath

import "fmt"

// Query evaluates expr over the JSON document data and returns the selected values
// decoded (nil, bool, float64, string, []any, map[string]any), in RFC order. It is
// the one-shot form behind `hindsight jsonpath EXPR FILE`.
func Query(expr string, data []byte) ([]any, error) {
	p, err := Parse(expr)
	if err != nil {
		return nil, err
	}
	d := NewDocument()
	if err := d.Reset(data); err != nil {
		return nil, fmt.Errorf("reading the document: %w", err)
	}
	vals, err := p.EvalChecked(d, nil)
	if err != nil {
		return nil, fmt.Errorf("evaluating %s: %w", expr, err)
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v.Interface()
	}
	return out, nil
}
