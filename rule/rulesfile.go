package rule

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// ReadRulesFile reads and parses the rules file at path (see ParseRulesFile). It reads
// at most the max_rules_file_bytes limit in force, so that a huge or endless file (a
// device, a pipe) costs no more than that.
func ReadRulesFile(path string) ([]*Rule, error) {
	data, err := ReadRulesFileBytes(path)
	if err != nil {
		return nil, err
	}
	return ParseRulesFile(path, data)
}

// ReadRulesFileTests reads and parses the rules file at path with its rules' tests (see
// ParseRulesFileTests), under the same bound as ReadRulesFile.
func ReadRulesFileTests(path string) (*RulesFile, error) {
	data, err := ReadRulesFileBytes(path)
	if err != nil {
		return nil, err
	}
	return ParseRulesFileTests(path, data)
}

// ReadRulesFileBytes reads the rules file at path, refusing one larger than the
// max_rules_file_bytes limit in force after reading one byte more than it. It is for
// callers that need the text as well as the rules; ParseRulesFile parses it.
func ReadRulesFileBytes(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading rules file: %w", err)
	}
	defer f.Close()
	max := CurrentLimits().MaxRulesFileBytes
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("reading rules file %s: %w", path, err)
	}
	if len(data) > max {
		return nil, fmt.Errorf("%w: %s: file is larger than %d bytes (limit %s)", ErrInvalid, path, max, LimitRulesFileSize)
	}
	return data, nil
}

// rulesList is the list of rules in a rules file's body: the body itself, or the value
// of the "rules" key of a mapping. Problems say where the file went wrong.
func rulesList(name string, body ast.Node) (*ast.SequenceNode, error) {
	if m, ok := body.(*ast.MappingNode); ok {
		found := false
		for _, kv := range m.Values {
			if k, ok := keyText(kv.Key); ok && k == "rules" {
				body, found = kv.Value, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %s:%d: expected a list of rules or a mapping with a rules list", ErrInvalid, name, lineOfNode(m))
		}
	}
	seq, ok := body.(*ast.SequenceNode)
	if !ok {
		return nil, fmt.Errorf("%w: %s:%d: expected a list of rules", ErrInvalid, name, lineOfNode(body))
	}
	return seq, nil
}

// strKeyTags are the tags (of yamlOwnTags) that leave a key's text a string: str's,
// short and verbatim, and the non-specific "!", which makes a scalar a string.
var strKeyTags = map[string]bool{string(token.StringTag): true, "!<tag:yaml.org,2002:str>": true, "!": true}

// keyText is the text of a mapping key that is a string: its value, unquoted. A key
// node's String() keeps the quotes, and every JSON key is quoted ("rules"), as YAML's
// may be ('rules'). ok is false for keys that are not strings.
func keyText(n ast.Node) (text string, ok bool) {
	for {
		switch k := n.(type) {
		case *ast.StringNode:
			return k.Value, true
		case *ast.MappingKeyNode: // ? rules
			n = k.Value
		case *ast.AnchorNode: // &a rules
			n = k.Value
		case *ast.TagNode: // !!str rules; another tag may make the key anything
			if k.Start == nil || !strKeyTags[k.Start.Value] {
				return "", false
			}
			n = k.Value
		default:
			return "", false
		}
	}
}

// tooLarge is a rules file's problem with one of the limits, found before any rule is
// converted: where (line, and column when known) and what.
type tooLarge struct {
	line, col int
	msg       string
}

func (e *tooLarge) Error() string { return e.msg }

// checkNesting refuses YAML nested deeper than limit levels plus base (the levels a
// rule sits in: the file's list, perhaps within a mapping), from its tokens, before the
// parser sees them: goccy/go-yaml's parser costs time and memory quadratic in the
// depth (100,000 nested '[' took 2 minutes and 15 GB; 128 KB of "- " 45 s and 6 GB),
// while its lexer is linear. It counts flow collections ([…], {…}) by their brackets,
// and block collections by their indentation (see blockLevels), since compact ones
// nest a level per 2 bytes on one line ("- - - x", "a: b: c"); a level the tokens
// do not make certain is not counted, so that what is refused here is too deep, and
// yamlCost, after parsing, applies the limit exactly.
func checkNesting(tokens token.Tokens, base, limit int) error {
	flow := 0
	var block blockLevels
	tooDeep := func(tk *token.Token) error {
		return &tooLarge{line: tk.Position.Line, col: tk.Position.Column,
			msg: fmt.Sprintf("nesting deeper than %d levels (limit %s)", limit, LimitJSONDepth)}
	}
	for i, tk := range tokens {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			if flow == 0 {
				block.flowStart = tk.Position.Column
			}
			flow++
			if len(block.cols)+flow > base+limit {
				return tooDeep(tk)
			}
		case token.SequenceEndType, token.MappingEndType:
			flow--
		case token.DocumentHeaderType, token.DocumentEndType:
			block.cols = block.cols[:0]
		case token.SequenceEntryType, token.MappingKeyType:
			if flow == 0 && block.at(tk.Position.Column)+flow > base+limit {
				return tooDeep(tk)
			}
		case token.MappingValueType:
			if flow == 0 && i > 0 && block.at(block.keyColumn(tokens, i))+flow > base+limit {
				return tooDeep(tk)
			}
		}
	}
	return nil
}

// blockLevels are the columns of the block collections open at a point of a file,
// outermost first: an entry ("- ", a key) at a column right of the innermost opens one
// inside it, at its column closes those right of it. An entry at the column of the
// one it is in is taken for its sibling (a list under a key may start at the key's
// column: "k:\n- a"), one level less than it may be.
type blockLevels struct {
	cols []int
	// flowStart is the column of the last flow collection opened at the block level,
	// which is where a key written as one ([a, b]: x) starts.
	flowStart int
}

// at accounts for an entry at col, and returns the levels now open.
func (b *blockLevels) at(col int) int {
	for len(b.cols) > 0 && b.cols[len(b.cols)-1] > col {
		b.cols = b.cols[:len(b.cols)-1]
	}
	if len(b.cols) == 0 || b.cols[len(b.cols)-1] < col {
		b.cols = append(b.cols, col)
	}
	return len(b.cols)
}

// keyColumn is the column of the key whose ':' is tokens[i]: where the token before it
// starts, or the flow collection it closes, with the tag or anchor before it; the
// ':' itself when it starts its line (an explicit key's value, "? a\n: b").
func (b *blockLevels) keyColumn(tokens token.Tokens, i int) int {
	k := i - 1
	switch {
	case tokens[k].Position.Line != tokens[i].Position.Line:
		return tokens[i].Position.Column
	case tokens[k].Type == token.SequenceEndType || tokens[k].Type == token.MappingEndType:
		return b.flowStart
	case anchorName(tokens, k): // *a: x
		k--
	}
	// Properties of the key (!!str &a k: x) start the entry.
	for k > 0 && tokens[k-1].Position.Line == tokens[i].Position.Line {
		switch {
		case tokens[k-1].Type == token.TagType:
			k--
		case anchorName(tokens, k-1) && tokens[k-2].Type == token.AnchorType:
			k -= 2
		default:
			return tokens[k].Position.Column
		}
	}
	return tokens[k].Position.Column
}

// yamlCost measures what converting a YAML node to JSON will produce, with aliases
// expanded as the decoder expands them, without expanding them: every anchor's cost is
// measured once. The decoder shares an anchor's decoded value among its aliases, but
// the JSON encoding of a rule repeats it at every alias, so that a few hundred bytes
// of nested aliases ("billion laughs") would otherwise make gigabytes.
//
// Cost is in bytes: the length of every scalar (at least 1) and 1 per collection, a
// lower bound on the JSON the node becomes. A rule can thus be refused for its cost
// only if its JSON would exceed max_rule_bytes anyway, and a file without aliases never
// costs more than its own size.
//
// A rule's tests entry (see RuleTest) is no part of the rule's JSON: it is measured
// apart, in testsUsed, against what is left of the file's budget, so that tests count
// toward max_rules_file_bytes but not toward max_rule_bytes. Anchors are shared between
// the two (an alias in the tests may use an anchor of the rule and the other way round),
// and so is the nesting limit: the tests sit inside the rule's mapping.
type yamlCost struct {
	anchors map[string]yamlAnchor
	used    int64 // cost of the nodes walked so far, but the tests'
	budget  int64 // the most used may reach
	// tests is the rule's tests entry, measured apart (nil: none); inTests is set while
	// walking it.
	tests       *ast.MappingValueNode
	inTests     bool
	testsUsed   int64
	testsBudget int64 // the most total() may reach within the tests
	fileMax     int   // max_rules_file_bytes, for messages
	// fileFull is set when the tests went over testsBudget: no rule after this one
	// can fit in the file's limit.
	fileFull bool
	// maxLevel is the deepest collection level reached, for anchors' heights.
	maxLevel int
	depthMax int
	// aliased is set once an alias is counted, for messages to say why a short text
	// is too large.
	aliased bool
}

type yamlAnchor struct {
	cost   int64
	height int  // collection levels in the anchor's value
	busy   bool // being measured: an alias inside it refers to itself (decoded as null)
}

// newYAMLCost measures one rule: at most budget bytes (max_rule_bytes) and depthMax
// levels (max_rule_json_depth).
func newYAMLCost(budget int64, depthMax int) *yamlCost {
	return &yamlCost{anchors: map[string]yamlAnchor{}, budget: budget, depthMax: depthMax}
}

// withTests measures the rule's tests entry (nil: none) apart: at most what the
// file's limit, fileMax bytes, leaves after the rules and tests before it (spent).
func (c *yamlCost) withTests(tests *ast.MappingValueNode, fileMax int, spent int64) *yamlCost {
	c.tests, c.fileMax, c.testsBudget = tests, fileMax, int64(fileMax)-spent
	return c
}

// total is the cost of everything walked so far, the tests' included.
func (c *yamlCost) total() int64 { return c.used + c.testsUsed }

// walk measures n at collection level depth (the number of collections around it).
func (c *yamlCost) walk(n ast.Node, depth int) error {
	if n == nil {
		return c.add(1, n)
	}
	switch n := n.(type) {
	case *ast.DocumentNode:
		return c.walk(n.Body, depth)
	case *ast.MappingNode:
		if err := c.enter(n, depth+1); err != nil {
			return err
		}
		for _, kv := range n.Values {
			if err := c.walk(kv, depth+1); err != nil {
				return err
			}
		}
		return nil
	case *ast.MappingValueNode:
		if n == c.tests && !c.inTests {
			c.inTests = true
			defer func() { c.inTests = false }()
		}
		if err := c.walk(n.Key, depth); err != nil {
			return err
		}
		return c.walk(n.Value, depth)
	case *ast.MappingKeyNode:
		return c.walk(n.Value, depth)
	case *ast.SequenceNode:
		if err := c.enter(n, depth+1); err != nil {
			return err
		}
		for _, v := range n.Values {
			if err := c.walk(v, depth+1); err != nil {
				return err
			}
		}
		return nil
	case *ast.TagNode:
		return c.walk(n.Value, depth)
	case *ast.AnchorNode:
		name := n.Name.GetToken().Value
		c.anchors[name] = yamlAnchor{busy: true}
		before, outerMax := c.total(), c.maxLevel
		c.maxLevel = depth
		if err := c.walk(n.Value, depth); err != nil {
			return err
		}
		c.anchors[name] = yamlAnchor{cost: c.total() - before, height: c.maxLevel - depth}
		c.maxLevel = max(c.maxLevel, outerMax)
		return nil
	case *ast.AliasNode:
		a, ok := c.anchors[n.Value.GetToken().Value]
		if !ok || a.busy {
			// Undefined here (the decoder will say so) or self-referring (decoded
			// as null): one value.
			return c.add(1, n)
		}
		c.aliased = true
		level := depth + a.height
		if level > c.depthMax {
			return c.tooDeep(n)
		}
		c.maxLevel = max(c.maxLevel, level)
		return c.add(max(1, a.cost), n)
	case *ast.LiteralNode:
		return c.add(int64(max(1, len(n.Value.Value))), n)
	case *ast.StringNode:
		return c.add(int64(max(1, len(n.Value))), n)
	case *ast.CommentGroupNode, *ast.CommentNode:
		return nil
	}
	tk := n.GetToken()
	if tk == nil {
		return c.add(1, n)
	}
	return c.add(int64(max(1, len(tk.Value))), n)
}

// enter accounts for a collection at level.
func (c *yamlCost) enter(n ast.Node, level int) error {
	if level > c.depthMax {
		return c.tooDeep(n)
	}
	c.maxLevel = max(c.maxLevel, level)
	return c.add(1, n)
}

func (c *yamlCost) add(cost int64, n ast.Node) error {
	if c.inTests {
		// The rule's own cost so far counts too: it is part of the file's.
		c.testsUsed += cost
		if c.total() > c.testsBudget {
			c.fileFull = true
			return &tooLarge{line: lineOfNode(n), msg: fmt.Sprintf("the rules up to this one, with their tests, are larger than %d bytes%s (limit %s)",
				c.fileMax, c.why(), LimitRulesFileSize)}
		}
		return nil
	}
	c.used += cost
	if c.used > c.budget {
		return &tooLarge{line: lineOfNode(n), msg: fmt.Sprintf("the rule is larger than %d bytes%s (limit %s)",
			c.budget, c.why(), LimitRuleBytes)}
	}
	return nil
}

func (c *yamlCost) tooDeep(n ast.Node) error {
	return &tooLarge{line: lineOfNode(n), msg: fmt.Sprintf("nesting deeper than %d levels%s (limit %s)", c.depthMax, c.why(), LimitJSONDepth)}
}

func (c *yamlCost) why() string {
	if c.aliased {
		return ", counting every use of a YAML alias in full"
	}
	return ""
}

func lineOfNode(n ast.Node) int {
	if n == nil {
		return 0
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Position.Line
	}
	return 0
}

// asTooLarge reports whether err is a limit problem found by checkNesting or yamlCost.
func asTooLarge(err error) (*tooLarge, bool) {
	var tl *tooLarge
	ok := errors.As(err, &tl)
	return tl, ok
}
