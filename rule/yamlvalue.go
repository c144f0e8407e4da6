package rule

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// jsonNumber is RFC 8259's number grammar.
var jsonNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$`)

// decodeYAMLNode decodes node (part of a rules or notify file) to what encoding/json
// would decode the same text to, numbers included: every unquoted scalar written as a
// JSON number becomes a json.Number of its text. The YAML decoder (YAML 1.1) read an
// exponent without a point (1e5), and integers past 64 bits, as strings, and other
// numbers as float64, rounding their text: `value: 1e5` compared as the text "1e5",
// silently, a test's event {"bytes": 1e5} summed nothing, and a threshold of
// 9007199254740992.5 passed where JSON's is refused. Now a rule, and its tests'
// events, mean in a file what the same text means in a control record or the
// console's API. Quoted scalars stay strings; YAML's own forms that are not JSON (0x1F,
// 1_000, .5, .inf) are read as YAML reads them. Maps have string keys.
func decodeYAMLNode(node ast.Node) (any, error) {
	// Each such scalar becomes a string marked with a prefix no file can hold (a fresh
	// nonce behind a NUL), which the decoder carries through anchors and aliases, then
	// a number again.
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	mark := numberMarker("\x00" + hex.EncodeToString(nonce[:]) + ":")
	node = mark.scalar(node)
	ast.Walk(mark, node)
	var v any
	if err := yaml.NodeToValue(node, &v); err != nil {
		return nil, err
	}
	return normalizeYAML(v, string(mark)), nil
}

// numberMarker replaces the scalars written as JSON numbers under each node it visits
// with strings marked with itself.
type numberMarker string

func (m numberMarker) Visit(n ast.Node) ast.Visitor {
	switch p := n.(type) {
	case *ast.MappingValueNode:
		p.Value = m.scalar(p.Value)
	case *ast.SequenceNode:
		for i, e := range p.Values {
			p.Values[i] = m.scalar(e)
		}
	case *ast.AnchorNode:
		p.Value = m.scalar(p.Value)
	}
	return m
}

// scalar is n, or when n is an unquoted scalar written as a JSON number, a string node
// of its text marked with m.
func (m numberMarker) scalar(n ast.Node) ast.Node {
	var tk *token.Token
	switch s := n.(type) {
	case *ast.StringNode:
		if s.Token != nil && s.Token.Type == token.StringType { // not quoted
			tk = s.Token
		}
	case *ast.IntegerNode:
		tk = s.Token
	case *ast.FloatNode:
		tk = s.Token
	}
	if tk == nil || !jsonNumber.MatchString(tk.Value) {
		return n
	}
	str := ast.String(tk)
	str.Value = string(m) + tk.Value
	return str
}

// normalizeYAML makes the decoded YAML value x what encoding/json would have decoded:
// maps with string keys, and the scalars decodeYAMLNode marked with mark numbers.
func normalizeYAML(x any, mark string) any {
	switch v := x.(type) {
	case string:
		if n, ok := strings.CutPrefix(v, mark); ok {
			return json.Number(n)
		}
		return v
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[strings.TrimPrefix(k, mark)] = normalizeYAML(e, mark)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[strings.TrimPrefix(fmt.Sprint(k), mark)] = normalizeYAML(e, mark)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = normalizeYAML(e, mark)
		}
		return v
	}
	return x
}
