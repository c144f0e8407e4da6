package rule

import (
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/token"
)

// stripChompedSpaces gives back, in tokens, the spaces ending the last line of each
// strip-chomped block scalar (|-, >-): strip chomping removes the final line breaks
// and nothing else (YAML 1.2 §8.1.1.2), but the lexer trims the spaces before them
// too, so that `value: |-` over "login failed   " was "login failed", where `|` keeps
// "login failed   \n" and the README says a block keeps its text as written.
//
// The spaces are taken from the block's text as written (its token's Origin) where
// that is exact: the lines after its last line with other text are empty, or spaces no
// deeper than the block's indentation, which are no content. Otherwise (a line of
// spaces deeper than that, content the lexer drops too, or an explicit indentation)
// the block is refused there, saying what to write.
func stripChompedSpaces(tokens token.Tokens) *textProblem {
	for i, tk := range tokens {
		if i == 0 || tk.Type != token.StringType {
			continue
		}
		// A comment on the header's line (|- # note) is a token between them.
		h := i - 1
		for h > 0 && tokens[h].Type == token.CommentType {
			h--
		}
		header := tokens[h]
		if (header.Type != token.LiteralType && header.Type != token.FoldedType) || !strings.Contains(header.Value, "-") {
			continue
		}
		lines := strings.Split(tk.Origin, "\n")
		last := -1
		for j, l := range lines {
			if strings.Trim(l, " ") != "" {
				last = j
			}
		}
		if last < 0 {
			continue
		}
		line := lines[last]
		content := strings.TrimRight(line, " ")
		spaces := line[len(content):]
		// An explicit indentation (|2-) is not told from the text alone: its block is
		// taken as the lexer reads it, unless its last line ends in spaces.
		explicit := strings.ContainsAny(header.Value, "123456789")
		if explicit && spaces == "" {
			continue
		}
		indent := 0
		for _, l := range lines {
			if strings.Trim(l, " ") != "" {
				indent = len(l) - len(strings.TrimLeft(l, " ")) // the first line with text sets it
				break
			}
		}
		// Lines of spaces after the last, deeper than the indentation, are content the
		// lexer drops too; those no deeper are empty lines (or the next line's
		// indentation), which strip chomping removes.
		deep := -1
		for j, l := range lines[last+1:] {
			if len(l) > indent || (explicit && l != "") {
				deep = last + 1 + j
				break
			}
		}
		text := strings.TrimLeft(content, " ")
		if deep < 0 {
			switch {
			case spaces == "" || strings.HasSuffix(tk.Value, text+spaces):
				continue // read as written
			case strings.HasSuffix(tk.Value, text):
				tk.Value += spaces
				continue
			}
		}
		// The block's text starts on the line after its header.
		p := &textProblem{line: header.Position.Line + 1 + last, col: utf8.RuneCountInString(content) + 1}
		if deep >= 0 && spaces == "" {
			p.line, p.col = header.Position.Line+1+deep, 1
		}
		p.msg = "a " + header.Value + " block whose text ends in spaces, which the YAML reader drops: quote the value (\"…   \"), or end the block with | or > (keeping its final line break)"
		return p
	}
	return nil
}
