package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bytedance/sonic"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/hindsightdev/hindsight/internal/jsontext"
)

// Control ops.
const (
	OpUpsert = "upsert"
	OpDelete = "delete"
)

// Control is one record of the controls topic: an upsert carrying a whole rule,
// destination or mute, or a delete naming one (Of says which kind; empty for a rule).
// The record key is RecordKey().
type Control struct {
	Op          string       `json:"op"`
	Rule        *Rule        `json:"rule,omitempty"`
	Destination *Destination `json:"destination,omitempty"`
	Mute        *Mute        `json:"mute,omitempty"`
	Of          string       `json:"kind,omitempty"`
	Scope       string       `json:"scope,omitempty"`
	ID          string       `json:"id,omitempty"`
	// Version, on a rule's delete, is the version the publisher saw active and
	// deletes (0: none given, a delete written before deletes carried it). An upsert
	// does not carry one (its rule does). With it, the fold decides in log order what
	// a publisher's check cannot: an edit of that version saved by one who had not
	// seen the delete yet (version+1) lands after it and is refused, not made active
	// again, and a delete landing after a newer version is refused, not deleting an
	// edit its publisher never saw (controls.Registry).
	Version int64 `json:"version,omitempty"`
}

// Key is the identity of what the control is about: a rule's (scope, id), a
// destination's (scope, name), a mute's (scope, id).
func (c *Control) Key() Key {
	switch {
	case c.Rule != nil:
		return c.Rule.Key()
	case c.Destination != nil:
		return Key{Scope: c.Destination.Scope, ID: c.Destination.Name}
	case c.Mute != nil:
		return Key{Scope: c.Mute.Scope, ID: c.Mute.ID}
	}
	return Key{Scope: c.Scope, ID: c.ID}
}

// Upsert returns the control that publishes r.
func Upsert(r *Rule) *Control { return &Control{Op: OpUpsert, Rule: r} }

// Delete returns the control that removes the rule k, whatever version is active
// (as deletes were written before they carried one: DeleteVersion is preferred).
func Delete(k Key) *Control { return &Control{Op: OpDelete, Scope: k.Scope, ID: k.ID} }

// DeleteVersion returns the control that removes version v of the rule k, the
// version its publisher saw active.
func DeleteVersion(k Key, v int64) *Control {
	return &Control{Op: OpDelete, Scope: k.Scope, ID: k.ID, Version: v}
}

// Marshal encodes the control as the value of a controls record.
func (c *Control) Marshal() ([]byte, error) { return json.Marshal(c) }

// strict rejects unknown fields, so that a misspelt "treshold" is an error, not a rule
// that silently never alerts.
var strict = sonic.Config{DisallowUnknownFields: true, CaseSensitive: true}.Froze()

// ParseControl decodes and validates one control record value. Errors match ErrInvalid;
// a rule's problems come as a *ValidationError. The limits in force apply (see Limits):
// text too large or too deeply nested for any valid rule is refused before decoding,
// and text that is not UTF-8, or escapes a lone surrogate, after (checkUTF8). A
// mute's until is held in UTC.
func ParseControl(data []byte) (*Control, error) {
	lim := CurrentLimits()
	// The control's own object is one level around the rule's.
	if err := checkRuleText(data, 1, lim); err != nil {
		return nil, err
	}
	var c Control
	if err := strict.Unmarshal(data, &c); err != nil {
		derr := decodeError("control is not a valid JSON control record", err, ruleText(data))
		var ve *ValidationError
		if !errors.As(derr, &ve) {
			if ve, ok := controlMismatch(data); ok {
				return nil, ve
			}
		}
		return nil, derr
	}
	switch c.Op {
	case OpUpsert:
		n := 0
		for _, set := range []bool{c.Rule != nil, c.Destination != nil, c.Mute != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return nil, &ValidationError{Problems: []Problem{{Field: "rule", Msg: "an upsert carries exactly one of rule, destination or mute"}}}
		}
		if c.Scope != "" || c.ID != "" || c.Of != "" || c.Version != 0 {
			return nil, &ValidationError{Problems: []Problem{{Field: "scope/id", Msg: "belong inside the rule, destination or mute for upsert (so does version)"}}}
		}
		var err error
		switch {
		case c.Rule != nil:
			err = c.Rule.validate(lim)
		case c.Destination != nil:
			err = c.Destination.Validate()
		default:
			var wire struct {
				Mute json.RawMessage `json:"mute"`
			}
			_ = json.Unmarshal(data, &wire) // strict decoded it already
			err = c.Mute.validate(muteUntilGiven(wire.Mute))
			// Held in UTC, as its Keeper writes it: "+00:00" decodes to another
			// location than "Z", and the fold took the Keeper of what its key held
			// for a change (two daemons' Keepers of one mute then never converged).
			c.Mute.Until = c.Mute.Until.UTC()
		}
		if err != nil {
			return nil, err
		}
	case OpDelete:
		var v ValidationError
		v.Rule, v.Kind = c.ID, c.Of
		if c.Rule != nil || c.Destination != nil || c.Mute != nil {
			v.add("rule", 0, "delete names what it deletes by kind, scope and id only")
		}
		if c.Of != KindRule && c.Of != KindDestination && c.Of != KindMute {
			v.add("kind", 0, fmt.Sprintf("%s: want destination, mute, or none for a rule", quoted(c.Of)))
		}
		// Checked as an upsert's are: the record key is made of them, and one that read
		// as another kind's, or another id's, would have compaction drop that key's
		// upsert while its fold deleted nothing.
		switch {
		case c.Scope == "":
			v.add("scope", 0, "is required for delete")
		case c.Of == KindRule:
			if msg := ruleScopeProblem(c.Scope); msg != "" {
				v.add("scope", 0, msg)
			}
		case !validScope(c.Scope):
			v.add("scope", 0, "must be a customer id (valid UTF-8) or * (at most 256 bytes)")
		}
		switch {
		case c.ID == "":
			v.add("id", 0, "is required for delete")
		case !idPattern.MatchString(c.ID):
			v.add("id", 0, fmt.Sprintf("%s: letters, digits, '.', '_', ':', '@', '-', starting with a letter or digit; at most 128", quoted(c.ID)))
		}
		switch {
		case c.Version != 0 && c.Of != KindRule:
			v.add("version", 0, "only a rule's delete carries a version")
		case c.Version < 0 || c.Version > MaxSafeInteger:
			v.add("version", 0, fmt.Sprintf("%d: the version deleted, 1 to %d (2^53), or none", c.Version, int64(MaxSafeInteger)))
		}
		if len(v.Problems) > 0 {
			return nil, &v
		}
	default:
		return nil, &ValidationError{Problems: []Problem{{Field: "op", Msg: fmt.Sprintf("%s is not upsert or delete", quoted(c.Op))}}}
	}
	if err := checkUTF8(data); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkUTF8 refuses text that is not UTF-8 anywhere, once the fields that say so
// themselves (a scope, a path) have: the decoders turn such bytes into U+FFFD, and a
// rule would compare with a value, or carry a name, its author never wrote. An escape
// of a lone surrogate ("\ud800", "\udc00" not in a pair) is the same text written
// otherwise, which the decoders turn into U+FFFD too, and is refused as such bytes are
// (a JSONPath's own parser refuses it, RFC 9535, but never saw it: the path was
// decoded first).
func checkUTF8(data []byte) error {
	if off, bad := jsontext.InvalidUTF8(data); bad {
		return &ValidationError{Problems: []Problem{{Field: "rule", Msg: fmt.Sprintf("not UTF-8 at byte offset %d", off)}}}
	}
	if off, bad := jsontext.LoneSurrogate(data); bad {
		return &ValidationError{Problems: []Problem{{Field: "rule", Msg: fmt.Sprintf(
			"escape of a lone surrogate at byte offset %d, which is no character: write the character itself, or a surrogate pair for one beyond U+FFFF", off)}}}
	}
	return nil
}

// ParseRule decodes and validates one rule from JSON, under the limits in force.
func ParseRule(data []byte) (*Rule, error) {
	return parseRule(data, CurrentLimits(), "")
}

// ParseDraft parses a draft rule as ParseRule does, naming one without an id (or with
// an empty or null one) def: a preview or backtest of a draft needs no name. Positions
// in its errors are data's own, as the client sent it.
func ParseDraft(data []byte, def string) (*Rule, error) {
	return parseRule(data, CurrentLimits(), def)
}

func parseRule(data []byte, lim Limits, defaultID string) (*Rule, error) {
	if err := checkRuleText(data, 0, lim); err != nil {
		return nil, err
	}
	var r Rule
	if err := strict.Unmarshal(data, &r); err != nil {
		return nil, decodeError("", err, data)
	}
	if r.ID == "" {
		r.ID = defaultID
	}
	if err := r.validate(lim); err != nil {
		return nil, err
	}
	if err := checkUTF8(data); err != nil {
		return nil, err
	}
	return &r, nil
}

// TooDeep says data, a draft rule's JSON text, nests deeper than max_rule_json_depth:
// ParseDraft refuses it undecoded, with the problem naming the limit, and a caller that
// decodes the text around the rule first must not let its own decoder's depth limit
// speak instead.
func TooDeep(data []byte) bool {
	return jsonTooDeep(data, CurrentLimits().MaxJSONDepth) >= 0
}

// rawSlack is how much larger than max_rule_bytes the text of a rule or control may be
// before it is refused undecoded: the limit is on the compact encoding (checked exactly
// by validation), and text written by hand carries whitespace.
const rawSlack = 4

// checkRuleText refuses text that cannot hold a valid rule under lim without decoding
// it: more than rawSlack times max_rule_bytes, or JSON nested deeper than
// max_rule_json_depth (base levels are the record's own, around the rule). Decoding such
// text would cost a hostile record's size in memory, or fail on a decoder's recursion
// limit with a message that names neither the limit nor where.
func checkRuleText(data []byte, base int, lim Limits) error {
	if len(data) > rawSlack*lim.MaxRuleBytes {
		return &ValidationError{Problems: []Problem{{Field: "rule", Limit: LimitRuleBytes, Msg: fmt.Sprintf(
			"record is %d bytes; a rule is at most %d bytes of compact JSON (limit %s)", len(data), lim.MaxRuleBytes, LimitRuleBytes)}}}
	}
	if off := jsonTooDeep(data, lim.MaxJSONDepth+base); off >= 0 {
		return &ValidationError{Problems: []Problem{{Field: "rule", Limit: LimitJSONDepth, Msg: fmt.Sprintf(
			"JSON nesting deeper than %d levels at byte offset %d (limit %s)", lim.MaxJSONDepth, off, LimitJSONDepth)}}}
	}
	// The decoders keep the last of a key given twice: a rule would take a threshold
	// of 300 from {"threshold": 3, …, "threshold": 300}.
	if key, off, twice := jsontext.RepeatedKey(data); twice {
		return &ValidationError{Problems: []Problem{{Field: "rule", Msg: fmt.Sprintf(
			"%q is given twice in one object (at byte offset %d): name each field once", key, off)}}}
	}
	return nil
}

// decodeError turns a decoding error into a validation error: a lookback that is not a
// duration is a problem of the lookback field; anything else is about the record.
func decodeError(what string, err error, ruleJSON []byte) error {
	var de *durationError
	if errors.As(err, &de) {
		return &ValidationError{Problems: []Problem{{Field: durationField(err, de, ruleJSON), Msg: de.Error()}}}
	}
	var te *thresholdError
	if errors.As(err, &te) {
		return &ValidationError{Problems: []Problem{{Field: "threshold", Msg: te.Error()}}}
	}
	var ke *kindError
	if errors.As(err, &ke) {
		return &ValidationError{Problems: []Problem{{Field: ke.field, Msg: ke.msg}}}
	}
	if p, ok := mismatchProblem(ruleJSON); ok {
		return &ValidationError{Problems: []Problem{p}}
	}
	if what == "" {
		return fmt.Errorf("%w: %s", ErrInvalid, cleanDecodeError(err))
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalid, what, cleanDecodeError(err))
}

// durationField names the field a duration decoding error is about. Window's decoder
// labels its fields' errors; lookback, lateness and alert.suppress are told apart by
// which of them, in the rule's JSON, holds the text that failed (the decoders name
// none).
func durationField(err error, de *durationError, ruleJSON []byte) string {
	msg := err.Error()
	for _, f := range []struct{ goName, field string }{{"Window.Size", "window.size"}, {"Window.Every", "window.every"}} {
		if strings.Contains(msg, f.goName) {
			return f.field
		}
	}
	// Each field on its own: an alert that is not an object must not hide a lateness.
	var fields map[string]any
	if json.Unmarshal(ruleJSON, &fields) == nil {
		if fields["lateness"] == de.text {
			return "lateness"
		}
		if alert, ok := fields["alert"].(map[string]any); ok && alert["suppress"] == de.text {
			return "alert.suppress"
		}
	}
	return "lookback"
}

// ruleText is the rule object of a control record's JSON (nil if it has none).
func ruleText(control []byte) []byte {
	var c struct {
		Rule json.RawMessage `json:"rule"`
	}
	if json.Unmarshal(control, &c) != nil {
		return nil
	}
	return c.Rule
}

func cleanDecodeError(err error) string {
	if msg, ok := syntaxMessage(err); ok {
		return msg
	}
	// sonic's messages can span several lines with a caret diagram; keep them, but on
	// one line so they fit a status record and a log line.
	return strings.Join(strings.Fields(err.Error()), " ")
}

// parseYAMLFile parses a rules or destinations file under lim: no larger than
// max_rules_file_bytes, nested no deeper than an entry may be (an entry's object sits
// inside the file's list, itself perhaps in a mapping), and written in text the
// decoder reads as written (notUTF8, controlByte, checkScalars; stripChompedSpaces gives back
// what it would drop); a CRLF file reads as the same file with LF line endings.
func parseYAMLFile(name string, data []byte, lim Limits) (*ast.File, error) {
	if len(data) > lim.MaxRulesFileBytes {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, name, overLimit("file is", len(data), "bytes", lim.MaxRulesFileBytes, LimitRulesFileSize))
	}
	// YAML allows a byte order mark at the start (editors on Windows write one); the
	// lexer took it for text, and refused the file at a place that looked fine.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	text := string(crlfAsLF(data))
	if p := notUTF8(text); p != nil {
		return nil, fmt.Errorf("%w: %s:%d:%d: %s", ErrInvalid, name, p.line, p.col, p.msg)
	}
	if p := controlByte(text); p != nil {
		return nil, fmt.Errorf("%w: %s:%d:%d: %s", ErrInvalid, name, p.line, p.col, p.msg)
	}
	tokens := lexer.Tokenize(text)
	if p := checkScalars(text, tokens); p != nil {
		return nil, fmt.Errorf("%w: %s:%d:%d: %s", ErrInvalid, name, p.line, p.col, p.msg)
	}
	if p := stripChompedSpaces(tokens); p != nil {
		return nil, fmt.Errorf("%w: %s:%d:%d: %s", ErrInvalid, name, p.line, p.col, p.msg)
	}
	if err := checkNesting(tokens, 2, lim.MaxJSONDepth); err != nil {
		tl, _ := asTooLarge(err)
		return nil, fmt.Errorf("%w: %s:%d:%d: %s", ErrInvalid, name, tl.line, tl.col, tl.msg)
	}
	if line := secondDocument(tokens); line > 0 {
		return nil, fmt.Errorf("%w: %s:%d: a second YAML document: a rules or destinations file is one document (one list of rules, or one mapping of lists)", ErrInvalid, name, line)
	}
	f, err := parser.Parse(tokens, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, name, strings.TrimSpace(yaml.FormatError(err, false, false)))
	}
	// Empty documents (a leading "---") are none: f.Docs[0] is the one with content.
	f.Docs = slices.DeleteFunc(f.Docs, func(d *ast.DocumentNode) bool { return d == nil || d.Body == nil })
	return f, nil
}

// secondDocument returns the line of a "---" or "..." that has content both before and
// after it (a file of two documents), or 0. Every reader takes a file's one document:
// a second was dropped without a word, its rules never tested, applied or published.
// Told by tokens, not by the parser's documents: of "a\n---\n---\nb" the parser kept
// a and an empty document, and b was nowhere.
//
// A directive (%YAML 1.2, %TAG !e! tag:...) is no content: the lexer gives its name
// and arguments as tokens of their own, on its line, which counted as content made the
// "---" every directive is followed by a second document's start.
func secondDocument(tokens token.Tokens) int {
	content, split, directive := false, 0, 0
	for _, tk := range tokens {
		if tk.Type == token.DirectiveType {
			directive = tk.Position.Line
			continue
		}
		if directive > 0 && tk.Position.Line == directive {
			continue
		}
		switch tk.Type {
		case token.CommentType:
		case token.DocumentHeaderType, token.DocumentEndType:
			if content && split == 0 {
				split = tk.Position.Line
			}
		default:
			if split > 0 {
				return split
			}
			content = true
		}
	}
	return 0
}

// FileError is a problem with one rule of a rules file: which file, which rule (index,
// id) and at which line it starts, or, for a problem found at a line of its own (a
// limit, one of its tests), that line.
type FileError struct {
	File  string
	Index int
	Line  int
	ID    string
	Err   error
}

func (e *FileError) Error() string {
	id := ""
	if e.ID != "" {
		id = fmt.Sprintf(" (id %q)", e.ID)
	}
	return fmt.Sprintf("%s:%d: rule #%d%s: %v", e.File, e.Line, e.Index+1, id, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// ParseRulesFile reads a rules file: a YAML or JSON list of rules, or a mapping with a
// "rules" list. Every rule is validated; the error joins one *FileError per bad rule, so
// a user sees all problems at once. Duplicate (scope, id) pairs are an error.
//
// A rule may carry a tests list (see RuleTest): it is validated too, but is no part of
// the rule; ParseRulesFileTests returns it.
//
// The limits in force bound what reading a file may cost: data beyond
// max_rules_file_bytes is refused, nesting beyond max_rule_json_depth is refused before
// parsing, and YAML aliases may not expand a rule beyond max_rule_bytes nor the file
// (rules and tests) beyond max_rules_file_bytes (a "billion laughs" file of a few
// hundred bytes is refused at once, with the line of the alias that went over).
func ParseRulesFile(name string, data []byte) ([]*Rule, error) {
	f, err := ParseRulesFileTests(name, data)
	if err != nil {
		return nil, err
	}
	return f.Rules, nil
}

// ParseRulesFileTests parses a rules file as ParseRulesFile does, and returns its rules
// with their tests. Each rule's tests key is taken out of its mapping before the rule is
// decoded, so that the rules are exactly those of the same file without tests. A
// problem with a test is a *FileError at the line of the field at fault, whose error is
// a *ValidationError naming the field ("tests[1].expect.alerts"). The tests of an
// invalid rule are not checked: what they expect depends on the rule.
func ParseRulesFileTests(name string, data []byte) (*RulesFile, error) {
	lim := CurrentLimits()
	f, err := parseYAMLFile(name, data, lim)
	if err != nil {
		return nil, err
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, fmt.Errorf("%w: %s: no rules", ErrInvalid, name)
	}
	seq, err := rulesList(name, f.Docs[0].Body)
	if err != nil {
		return nil, err
	}
	var (
		file = &RulesFile{Name: name}
		errs []error
		seen = map[Key]int{}
		// total is what the rules and their tests cost together once aliases are
		// expanded; without aliases it is at most the file's size.
		total int64
	)
	for i, node := range seq.Values {
		line := node.GetToken().Position.Line
		// Each rule is decoded on its own, so its anchors are its own (an alias to
		// another rule's anchor is an error of the decoder); measure it so. Its tests
		// are measured apart: they count toward the file's limit, not the rule's.
		testsKV := testsKey(node)
		cost := newYAMLCost(int64(lim.MaxRuleBytes), lim.MaxJSONDepth).withTests(testsKV, lim.MaxRulesFileBytes, total)
		if err := cost.walk(node, 0); err != nil {
			tl, _ := asTooLarge(err)
			errs = append(errs, &FileError{File: name, Index: i, Line: tl.line, Err: fmt.Errorf("%w: %s", ErrInvalid, tl.msg)})
			if cost.fileFull {
				break // the file's budget is spent: the rules after this one cannot fit
			}
			continue
		}
		if total += cost.total(); total > int64(lim.MaxRulesFileBytes) {
			what := "the rules up to this one are"
			if testsKV != nil {
				what = "the rules up to this one, with their tests, are"
			}
			errs = append(errs, &FileError{File: name, Index: i, Line: line, Err: fmt.Errorf(
				"%w: %s larger than %d bytes, counting every use of a YAML alias in full (limit %s)", ErrInvalid, what, lim.MaxRulesFileBytes, LimitRulesFileSize)})
			break
		}
		generic, order, err := decodeYAMLNode(node)
		if err != nil {
			errs = append(errs, &FileError{File: name, Index: i, Line: lineOf(err, line), Err: err})
			continue
		}
		// Tests are the file's, not the rule's: out before the rule is decoded, so
		// that they are never in its JSON (nor its control record, nor fingerprint).
		testsVal, hasTests := any(nil), false
		if m, ok := generic.(map[string]any); ok {
			if testsVal, hasTests = m["tests"]; hasTests {
				delete(m, "tests")
			}
		}
		js, err := json.Marshal(generic)
		if err != nil {
			// YAML's .nan and .inf: numbers JSON, and so a control, cannot carry.
			errs = append(errs, &FileError{File: name, Index: i, Line: line,
				Err: fmt.Errorf("%w: a value is not a finite number (YAML .nan or .inf), which JSON cannot carry: %v", ErrInvalid, err)})
			continue
		}
		r, err := parseRule(js, lim, "")
		if err != nil {
			var id string
			if m, ok := generic.(map[string]any); ok {
				id, _ = m["id"].(string)
			}
			errs = append(errs, &FileError{File: name, Index: i, Line: line, ID: id, Err: err})
			continue
		}
		if j, dup := seen[r.Key()]; dup {
			errs = append(errs, &FileError{File: name, Index: i, Line: line, ID: r.ID,
				Err: fmt.Errorf("%w: scope %q id %q is already rule #%d", ErrInvalid, r.Scope, r.ID, j+1)})
			continue
		}
		seen[r.Key()] = i
		file.Rules = append(file.Rules, r)
		file.Lines = append(file.Lines, line)
		if hasTests {
			var at ast.Node // nil when the tests came through a merge key: no lines
			if testsKV != nil {
				at = testsKV.Value
			}
			tests, problems := parseRuleTests(r, testsVal, order, at, line)
			for _, p := range problems {
				errs = append(errs, &FileError{File: name, Index: i, Line: p.line, ID: r.ID,
					Err: &ValidationError{Rule: r.ID, Problems: []Problem{{Field: p.field, Msg: p.msg}}}})
			}
			file.Tests = append(file.Tests, tests...)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return file, nil
}
