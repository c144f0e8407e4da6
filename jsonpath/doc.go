// Package jsonpath is the RFC 9535 JSONPath engine shared by the live evaluator and
// backfill. It evaluates compiled paths over raw event bytes without decoding them.
//
// Contract:
//
//   - Syntax and semantics are RFC 9535: name, index, wildcard, slice and filter
//     selectors, descendant segments, filters with ||, && and !, comparisons of
//     singular queries, and the functions length, count, match, search and value,
//     type-checked at parse time. match/search patterns are I-Regexp (RFC 9485),
//     translated to RE2 ('.' excludes \n and \r; match is a full match; '^' and '$'
//     anchor, as the compliance suite expects); an invalid pattern makes the
//     function false. Jayway-style filters such as
//     $.store.book[?(@.category == 'fiction')].price are valid RFC 9535 and work as
//     is. Invalid expressions yield a *SyntaxError with the offending column.
//   - Document.Reset validates the whole document — grammar and depth in one pass
//     that also records a structural index of byte offsets and notes any byte
//     beyond ASCII, then UTF-8 with sonic's SIMD validator only if it saw one (an
//     ASCII document is valid UTF-8) or the grammar failed (invalid UTF-8 is the
//     error reported first); invalid input yields a *JSONError wrapping ErrInvalidJSON that names
//     the byte offset, never a panic. What is lazy: nothing is decoded at Reset.
//     Strings and numbers are decoded only when a selected Value is read or
//     compared (escaped strings through sonic's unquote), and member lookups on a
//     document are memoized, so paths sharing a prefix resolve it once. A fixed
//     list of paths evaluated over a stream (a rule set's) goes through a Resolver:
//     their name/index prefixes are a trie (Prefixes), each node found once per
//     document, and the members an object's paths name found in one pass over the
//     object, rather than one scan of it per path. Evaluation
//     walks the index, never rescanning bytes. (The validation pass has to read
//     every byte anyway; building the index in that pass measured cheaper than
//     sonic's validator followed by sonic's lazy AST, see BenchmarkEvent.)
//   - Limits: nesting depth MaxDepth (1000; deeper documents fail Reset with
//     ErrTooDeep), filter nesting MaxFilterDepth (64; deeper is a SyntaxError),
//     expression length MaxExprLen, document size MaxDocumentSize; paths may have
//     any number of segments. Each Eval has a work budget (ErrEvalLimit, reported by
//     EvalChecked and Document.Limited) so that exponential queries over hostile
//     documents end.
//   - Numbers are float64: 1 == 1.0 == 1e0. Integers beyond 2^53 are rounded to
//     the nearest float64 and so compare approximately (2^53+1 == 2^53); numbers
//     beyond the float64 range are ±Inf. A number never equals a string. Strings
//     compare by code point. Object member names that repeat resolve to the first
//     member.
//   - Values returned by Eval alias the bytes given to Reset and stay valid while
//     those bytes are unchanged. A Path is immutable and safe for concurrent use; a
//     Document belongs to one goroutine and is reused across events.
package jsonpath
