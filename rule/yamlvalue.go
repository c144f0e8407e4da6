package rule

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// jsonNumber is RFC 8259's number grammar.
var jsonNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$`)

// decodeYAMLNode decodes node (part of a rules or notify file) to what encoding/json
// would decode the same text to, and YAML's own forms as the YAML spec reads them:
//   - every unquoted scalar written as a JSON number becomes a json.Number of its text.
//     The YAML decoder (YAML 1.1) read an exponent without a point (1e5), and integers
//     past 64 bits, as strings, and other numbers through float64, rounding their
//     text: `value: 1e5` compared as the text "1e5", silently, a test's event
//     {"bytes": 1e5} summed nothing, and a threshold of 9007199254740992.5 passed where
//     JSON's is refused. YAML's forms that are not JSON (0x1F, 1_000, .5, .inf) are
//     read as YAML reads them, and refused at their line where such an integer does not
//     fit in 64 bits (wideInteger): the decoder read 0x10000000000000000 as its text;
//   - a scalar tagged !!str is its text: the decoder read it as a number first and
//     printed that (!!str 02142, a ZIP code, was "1122");
//   - an unquoted key is the string of its text (01, 1.0, 0x10, yes, ~), as a JSON
//     object's keys are strings: the decoder read keys as values, and printed them;
//   - a key written in a mapping wins over the same key merged into it (<<), and of
//     several merged mappings the first wins, as the merge key is defined; the decoder
//     let whatever came last win.
//
// Maps have string keys. order gives each map's keys as the file wrote them
// (memberOrder): a test's event is evaluated as that text, in its members' order.
func decodeYAMLNode(node ast.Node) (v any, order memberOrder, err error) {
	if err := unknownTag(node); err != nil {
		return nil, nil, err
	}
	// Each number becomes a string marked with a prefix no file can hold (a fresh
	// nonce behind a NUL), which the decoder carries through anchors and aliases, then
	// a number again.
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	y := &yamlScalars{mark: "\x00" + hex.EncodeToString(nonce[:]) + ":", literal: map[*ast.StringNode]bool{}, merged: map[*ast.MappingNode]bool{},
		lists: aliasedLists(node)}
	node = y.scalar(node)
	ast.Walk(y, node)
	if y.err != nil {
		return nil, nil, y.err
	}
	// Ordered: the decoder sets a mapping's keys in the same turn either way (merged
	// ones included), so the map made from each MapSlice is the one it would make.
	if err := yaml.NodeToValue(node, &v, yaml.UseOrderedMap()); err != nil {
		return nil, nil, err
	}
	order = memberOrder{}
	return normalizeYAML(v, y.mark, order), order, nil
}

// memberOrder is, per decoded map (by its identity: maps do not move), its keys in the
// order the file wrote them, each once. encoding/json writes a map's keys sorted, and a
// rule's test event so written was another event than live reads from the same text
// wherever a path selects several members ($.g.*, ..x): the first value of a group_by
// or a sum is the first in document order.
type memberOrder map[uintptr][]string

func (o memberOrder) keys(m map[string]any) []string {
	keys := o[reflect.ValueOf(m).Pointer()]
	if len(keys) == len(m) {
		return keys
	}
	// A map this decode did not make (none is): its keys in encoding/json's order.
	return slices.Sorted(maps.Keys(m))
}

// appendJSON appends v, a decoded value, as compact JSON with each map's members in
// the file's order; what encoding/json writes otherwise.
func (o memberOrder) appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case map[string]any:
		b = append(b, '{')
		for i, k := range o.keys(v) {
			if i > 0 {
				b = append(b, ',')
			}
			kj, err := json.Marshal(k)
			if err != nil {
				return nil, err
			}
			b = append(append(b, kj...), ':')
			if b, err = o.appendJSON(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = o.appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// yamlOwnTags are the tags a file may use: YAML's own that keep what the text says.
// Others the decoder dropped, keeping the value, so that `value: !Ref x` (a habit from
// other tools) was the string "x" without a word; !!binary was its base64 text, not
// the bytes, !!timestamp a time printed in another form ("2026-01-01T00:00:00Z" for
// 2026-01-01), and the verbatim forms but str's, map's and seq's (!<tag:yaml.org,2002:int>)
// made their scalars strings. "!" is YAML's non-specific tag: the value as its style
// makes it.
var yamlOwnTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!map": true, "!!seq": true, "!": true,
	"!<tag:yaml.org,2002:str>": true, "!<tag:yaml.org,2002:map>": true, "!<tag:yaml.org,2002:seq>": true,
}

// unknownTag refuses a tag not in yamlOwnTags, !!null on anything but null text
// (`!!null admin` was null, admin dropped), !!int or !!float on text that is no such
// number (see numberKind), and !!bool on text but true or false, at its line and
// column: the decoder made `!!int 1.5`, `!!int abc` and `!!float true` 0, and
// `!!bool 1` true, without a word.
func unknownTag(node ast.Node) error {
	var bad *ast.TagNode
	ast.Walk(tagVisitor(func(t *ast.TagNode) {
		if bad != nil || t.Start == nil {
			return
		}
		switch tag := t.Start.Value; {
		case !yamlOwnTags[tag]:
			bad = t
		case tag == string(token.NullTag):
			if _, null := t.Value.(*ast.NullNode); !null && t.Value != nil {
				bad = t
			}
		case tag == string(token.IntegerTag) || tag == string(token.FloatTag):
			if text, ok := taggedText(t.Value); !ok || !numberKind(text, tag == string(token.FloatTag)) {
				bad = t
			}
		case tag == string(token.BooleanTag):
			// YAML 1.2's booleans, in any case as the decoder reads them; its others
			// (0, 1, yes, t) are no boolean the file reads untagged.
			if text, ok := taggedText(t.Value); !ok || (!strings.EqualFold(text, "true") && !strings.EqualFold(text, "false")) {
				bad = t
			}
		}
	}), node)
	if bad == nil {
		return nil
	}
	pos := bad.Start.Position
	switch bad.Start.Value {
	case string(token.NullTag):
		return &yamlLineError{line: pos.Line, err: fmt.Errorf(
			"%w: !!null at column %d tags %s, which it would make null: write null (or ~), or drop the tag", ErrInvalid, pos.Column, bad.Value.String())}
	case string(token.IntegerTag):
		return &yamlLineError{line: pos.Line, err: fmt.Errorf(
			"%w: !!int at column %d tags %s, which is no integer: write one (5, -3, 0x1F), or drop the tag", ErrInvalid, pos.Column, taggedDesc(bad.Value))}
	case string(token.FloatTag):
		return &yamlLineError{line: pos.Line, err: fmt.Errorf(
			"%w: !!float at column %d tags %s, which is no number: write one (1.5, 2, 1e3), or drop the tag", ErrInvalid, pos.Column, taggedDesc(bad.Value))}
	case string(token.BooleanTag):
		return &yamlLineError{line: pos.Line, err: fmt.Errorf(
			"%w: !!bool at column %d tags %s, which is no YAML boolean: write true or false, or drop the tag", ErrInvalid, pos.Column, taggedDesc(bad.Value))}
	}
	return &yamlLineError{line: pos.Line, err: fmt.Errorf(
		"%w: unknown YAML tag %s at column %d: a rules or destinations file takes YAML's own (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)", ErrInvalid, bad.Start.Value, pos.Column)}
}

// taggedText is the text of the scalar n a tag is on (through an anchor), as written
// less its quotes; ok is false for a collection or a block scalar.
func taggedText(n ast.Node) (text string, ok bool) {
	if a, isAnchor := n.(*ast.AnchorNode); isAnchor {
		n = a.Value
	}
	switch s := n.(type) {
	case nil:
		return "", true
	case *ast.StringNode:
		return s.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode, *ast.InfinityNode, *ast.NanNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value, true
		}
		return "", true
	}
	return "", false
}

// taggedDesc is what a tag is on, for a message.
func taggedDesc(n ast.Node) string {
	if n == nil {
		return "nothing"
	}
	if text, ok := taggedText(n); ok {
		return strconv.Quote(text)
	}
	return n.String()
}

// jsonInteger is RFC 8259's number grammar without a fraction or exponent.
var jsonInteger = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)$`)

// numberKind reports whether text, unquoted, would be read as an integer (float false)
// or as a number of any decimal form (float true): what !!int and !!float may tag, each
// then read as its text unquoted is (see plainNumber).
func numberKind(text string, float bool) bool {
	if jsonNumber.MatchString(text) {
		return float || jsonInteger.MatchString(text)
	}
	if wideInteger(text) {
		return true // refused as too wide when read, naming the text
	}
	switch tk := token.New(text, text, &token.Position{}); tk.Type {
	case token.IntegerType:
		return true
	case token.BinaryIntegerType, token.OctetIntegerType, token.HexIntegerType:
		return !float
	case token.FloatType, token.InfinityType, token.NanType:
		return float
	}
	return false
}

// wideInteger reports whether text is written in a form the decoder reads as an
// integer (0x1F, 0o17, 0b101, 017, 1_000, +5) but does not fit in 64 bits, which the
// decoder then reads as the text: a string. JSON's own form (no sign, no '_') is a
// number of any size (see decodeYAMLNode), and is not one.
func wideInteger(text string) bool {
	if jsonNumber.MatchString(text) || strings.HasPrefix(text, "_") || token.ToNumber(text) != nil {
		return false
	}
	// The decoder's reading (token.ToNumber): a sign, '_' anywhere, then the base's
	// prefix.
	digits := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(text, "+"), "-"), "_", "")
	base := 10
	switch {
	case strings.HasPrefix(digits, "0x"):
		digits, base = digits[2:], 16
	case strings.HasPrefix(digits, "0o"):
		digits, base = digits[2:], 8
	case strings.HasPrefix(digits, "0b"):
		digits, base = digits[2:], 2
	case strings.HasPrefix(digits, "0") && len(digits) > 1:
		base = 8
	}
	if digits == "" || strings.ContainsAny(digits, "+-") {
		return false
	}
	_, ok := new(big.Int).SetString(digits, base)
	return ok
}

// yamlLineError is a problem at a line of its own, which a *FileError names rather
// than the line its rule or destination starts at.
type yamlLineError struct {
	line int
	err  error
}

func (e *yamlLineError) Error() string { return e.err.Error() }
func (e *yamlLineError) Unwrap() error { return e.err }

// lineOf is the line err names, or line when it names none.
func lineOf(err error, line int) int {
	if le, ok := errors.AsType[*yamlLineError](err); ok {
		return le.line
	}
	return line
}

type tagVisitor func(*ast.TagNode)

func (f tagVisitor) Visit(n ast.Node) ast.Visitor {
	if t, ok := n.(*ast.TagNode); ok {
		f(t)
	}
	return f
}

// yamlScalars rewrites, under each node it visits, the scalars written as JSON numbers
// into strings marked with mark, and those tagged !!str into strings of their text
// (kept in literal, not to be marked), and repeats written keys after merge keys so
// that the decoder's last-wins gives the merge key's meaning.
type yamlScalars struct {
	mark    string
	literal map[*ast.StringNode]bool
	// merged are the mappings whose merge keys are ordered: a written key set again
	// after a merge is walked twice, and its mappings must be ordered once (a merged
	// list reversed twice is the decoder's last-wins again).
	merged map[*ast.MappingNode]bool
	// lists are the lists of the node's anchors, by name: a merge of an alias of one
	// is ordered as a merged list written out is.
	lists map[string]*ast.SequenceNode
	// mergeLists numbers the merged lists reversed, for their markers.
	mergeLists int
	// err is the first scalar refused (a wideInteger): the walk goes on without it.
	err error
}

// aliasedLists returns the lists node anchors, by anchor name; a name anchored twice
// is left out (which of them an alias means depends on where it is).
func aliasedLists(node ast.Node) map[string]*ast.SequenceNode {
	lists := map[string]*ast.SequenceNode{}
	twice := map[string]bool{}
	ast.Walk(anchorVisitor(func(a *ast.AnchorNode) {
		name := a.Name.GetToken().Value
		if _, seen := lists[name]; seen || twice[name] {
			delete(lists, name)
			twice[name] = true
			return
		}
		if seq, ok := a.Value.(*ast.SequenceNode); ok {
			lists[name] = seq
		} else {
			twice[name] = true // not a list, but taken: a later list of the name is not it
		}
	}), node)
	return lists
}

type anchorVisitor func(*ast.AnchorNode)

func (f anchorVisitor) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok && a.Name != nil && a.Name.GetToken() != nil {
		f(a)
	}
	return f
}

func (y *yamlScalars) Visit(n ast.Node) ast.Visitor {
	switch p := n.(type) {
	case *ast.MappingValueNode:
		p.Value = y.scalar(p.Value)
		// A key is JSON's string of its text, whatever YAML would read it as: read
		// as a number, then printed, 1.0 became "1", 0x10 "16", and keys 01 and 1
		// one key, the first's value lost.
		if k, ok := y.text(p.Key).(ast.MapKeyNode); ok {
			p.Key = k
		}
	case *ast.SequenceNode:
		for i, e := range p.Values {
			p.Values[i] = y.scalar(e)
		}
	case *ast.AnchorNode:
		p.Value = y.scalar(p.Value)
	case *ast.MappingNode:
		if !y.merged[p] {
			y.merged[p] = true
			y.writtenAfterMerges(p)
		}
	case *ast.TagNode:
		if _, isCollection := p.Value.(ast.ArrayNode); !isCollection && p.Value.Type() != ast.MappingType {
			// A tagged scalar (!!int &v 5 too, through its anchor) is what its tag
			// makes of its text: marked, !!int read it as 0.
			return nil
		}
	}
	return y
}

// writtenAfterMerges sets m's written keys again after its last merge key, and
// reverses a merged list (written, or an alias of one), for the decoder, which sets
// each key in turn, to leave the written keys, then the first merged mapping's,
// standing. The keys stay where they were written too: one may define an anchor a
// merge after it uses. A reversed list is bracketed with marker mappings (mergeMarker)
// that normalizeYAML finds in the decoded members and puts back in the order written:
// the decoder sets the reversed list's members last mapping first, and a test's event
// had them so ({"y":2,"x":1} for <<: [{x: 1}, {y: 2}]).
func (y *yamlScalars) writtenAfterMerges(m *ast.MappingNode) {
	last := -1
	for i, kv := range m.Values {
		if kv.Key != nil && kv.Key.IsMergeKey() {
			last = i
			switch v := kv.Value.(type) {
			case *ast.SequenceNode:
				v.Values = y.reversedMerge(v, v.Values)
			case *ast.AliasNode:
				// The anchored list stays as it is, for its other uses: the merge gets a
				// reversed copy of it.
				if v.Value == nil || v.Value.GetToken() == nil {
					break
				}
				if seq, ok := y.lists[v.Value.GetToken().Value]; ok {
					cp := *seq
					cp.Values = y.reversedMerge(seq, slices.Clone(seq.Values))
					kv.Value = &cp
				}
			}
		}
	}
	for _, kv := range m.Values[:max(last, 0)] {
		if kv.Key == nil || !kv.Key.IsMergeKey() {
			m.Values = append(m.Values, kv)
		}
	}
}

// reversedMerge returns values, the mappings of merged list seq, reversed, each after a
// marker of the list and the last before its end marker (see mergeOrder).
func (y *yamlScalars) reversedMerge(seq *ast.SequenceNode, values []ast.Node) []ast.Node {
	y.mergeLists++
	id := strconv.Itoa(y.mergeLists)
	out := make([]ast.Node, 0, 2*len(values)+1)
	for _, v := range slices.Backward(values) {
		out = append(out, y.mergeMarker(seq, id+mergeBegin), v)
	}
	return append(out, y.mergeMarker(seq, id+mergeEnd))
}

// Marker keys: mark, "<<", the merged list's number, then one of these.
const (
	mergeBegin = ">" // the mapping after it is the next of the list, from its last
	mergeEnd   = "/" // the list's mappings are over
)

// mergeMarker is a mapping of one null member whose key no file can hold (mark, "<<",
// then what), placed in a merged list: the decoder sets its key among the merged ones,
// where normalizeYAML reads it and leaves it out.
func (y *yamlScalars) mergeMarker(at ast.Node, what string) ast.Node {
	pos := at.GetToken().Position
	key := y.mark + "<<" + what
	k := ast.String(token.New(key, key, pos))
	k.Value = key
	y.literal[k] = true
	return ast.Mapping(token.New("{", "{", pos), true,
		ast.MappingValue(token.New(":", ":", pos), k, ast.Null(token.New("null", "null", pos))))
}

// mergeOrder returns s, a mapping's members as the decoder set them, in the order the
// file wrote them, without the markers writtenAfterMerges placed: the members of each
// merged list, which the decoder set last mapping first, first mapping first. A member
// may be there more than once, as it was set.
func mergeOrder(s yaml.MapSlice, mark string) yaml.MapSlice {
	prefix := mark + "<<"
	marker := func(kv yaml.MapItem) (id string, end, ok bool) {
		k, isStr := kv.Key.(string)
		if !isStr {
			return "", false, false
		}
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			return rest[:len(rest)-1], rest[len(rest)-1:] == mergeEnd, true
		}
		return "", false, false
	}
	if !slices.ContainsFunc(s, func(kv yaml.MapItem) bool { _, _, ok := marker(kv); return ok }) {
		return s
	}
	out := make(yaml.MapSlice, 0, len(s))
	for i := 0; i < len(s); {
		id, _, ok := marker(s[i])
		if !ok {
			out = append(out, s[i])
			i++
			continue
		}
		// One merged list, from its first marker to its end: its mappings' members,
		// each after its marker, the list's last mapping first. Those of a list merged
		// within one of them are within its part, and put in order with it.
		var parts []yaml.MapSlice
		for ; i < len(s); i++ {
			if id2, end, ok := marker(s[i]); ok && id2 == id {
				if end {
					i++
					break
				}
				parts = append(parts, nil)
				continue
			}
			parts[len(parts)-1] = append(parts[len(parts)-1], s[i])
		}
		for _, part := range slices.Backward(parts) {
			out = append(out, mergeOrder(part, mark)...)
		}
	}
	return out
}

// scalar is n rewritten if it is a scalar to rewrite (see yamlScalars).
func (y *yamlScalars) scalar(n ast.Node) ast.Node {
	var tk *token.Token
	switch s := n.(type) {
	case *ast.TagNode:
		if s.Start == nil {
			return n
		}
		var as func(ast.Node) ast.Node
		switch s.Start.Value {
		case string(token.StringTag), "!<tag:yaml.org,2002:str>":
			as = y.text
		case string(token.IntegerTag), string(token.FloatTag):
			as = y.plainNumber
		default:
			return n
		}
		if a, ok := s.Value.(*ast.AnchorNode); ok { // !!str &a 5: the anchor's value is the string
			a.Value = as(a.Value)
			return a
		}
		return as(s.Value)
	case *ast.StringNode:
		if s.Token != nil && s.Token.Type == token.StringType && !y.literal[s] { // not quoted
			tk = s.Token
		}
	case *ast.IntegerNode:
		tk = s.Token
	case *ast.FloatNode:
		tk = s.Token
	}
	if tk != nil && wideInteger(tk.Value) && y.err == nil {
		y.err = &yamlLineError{line: tk.Position.Line, err: fmt.Errorf(
			"%w: %s at column %d is an integer that does not fit in 64 bits, which YAML then reads as text: write such an id as a string, quoted (in the events too), as any integer beyond 9007199254740992 (2^53)",
			ErrInvalid, tk.Value, tk.Position.Column)}
	}
	if tk == nil || !jsonNumber.MatchString(tk.Value) {
		return n
	}
	str := ast.String(tk)
	str.Value = y.mark + tk.Value
	return str
}

// plainNumber is scalar n, tagged !!int or !!float (its text checked by unknownTag), as
// its text unquoted is read: the decoder's own reading of the tag went through int64
// (!!int 99999999999999999999 was 9223372036854775807) and float64, and read a quoted
// number (!!int "5") with base 10 only.
func (y *yamlScalars) plainNumber(n ast.Node) ast.Node {
	text, ok := taggedText(n)
	if !ok || n == nil || n.GetToken() == nil {
		return n
	}
	tk := token.New(text, text, n.GetToken().Position)
	var plain ast.Node
	switch tk.Type {
	case token.IntegerType, token.BinaryIntegerType, token.OctetIntegerType, token.HexIntegerType:
		plain = ast.Integer(tk)
	case token.FloatType:
		plain = ast.Float(tk)
	case token.InfinityType:
		plain = ast.Infinity(tk)
	case token.NanType:
		plain = ast.Nan(tk)
	default: // 1e3, or one too wide for the decoder
		tk = token.String(text, text, n.GetToken().Position)
		plain = ast.String(tk)
	}
	return y.scalar(plain)
}

// text is the string of plain scalar n's text: n itself for a quoted or block scalar
// (a string already, as the tag wants) or a collection (the decoder refuses the tag).
func (y *yamlScalars) text(n ast.Node) ast.Node {
	switch s := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.NullNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
	case *ast.StringNode:
		if s.Token == nil || s.Token.Type != token.StringType {
			return n
		}
	default:
		return n
	}
	if n.GetToken() == nil {
		return n
	}
	str := ast.String(n.GetToken())
	str.Value = n.GetToken().Value
	y.literal[str] = true
	return str
}

// normalizeYAML makes the decoded YAML value x what encoding/json would have decoded:
// maps with string keys, and the scalars decodeYAMLNode marked with mark numbers.
func normalizeYAML(x any, mark string, order memberOrder) any {
	switch v := x.(type) {
	case yaml.MapSlice:
		// The value a key is given last is its value (see writtenAfterMerges); its
		// place is where the file first gives it.
		m := make(map[string]any, len(v))
		for _, kv := range v {
			if k, ok := kv.Key.(string); ok && strings.HasPrefix(k, mark+"<<") {
				continue // a merge's marker
			}
			m[strings.TrimPrefix(fmt.Sprint(kv.Key), mark)] = normalizeYAML(kv.Value, mark, order)
		}
		keys := make([]string, 0, len(m))
		seen := make(map[string]bool, len(m))
		for _, kv := range mergeOrder(v, mark) {
			if k := strings.TrimPrefix(fmt.Sprint(kv.Key), mark); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		order[reflect.ValueOf(m).Pointer()] = keys
		return m
	case string:
		if n, ok := strings.CutPrefix(v, mark); ok {
			return json.Number(n)
		}
		return v
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[strings.TrimPrefix(k, mark)] = normalizeYAML(e, mark, order)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[strings.TrimPrefix(fmt.Sprint(k), mark)] = normalizeYAML(e, mark, order)
		}
		return m
	case []any:
		// A new list: the decoder shares an anchored list with its aliases, and a
		// second pass over normalized maps would copy them without their order.
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalizeYAML(e, mark, order)
		}
		return out
	}
	return x
}
