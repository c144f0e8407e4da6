package rule

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/token"

	"github.com/hindsightdev/hindsight/internal/jsontext"
)

// textProblem is a problem of a YAML file's text found before it is parsed, at a line
// and column (1-based, columns in characters, as goccy/go-yaml counts them).
type textProblem struct {
	line, col int
	msg       string
}

// crlfAsLF reads a file saved with CRLF line endings as the same file with LF ones.
// The lexer kept the CR of a line break inside a quoted scalar as the break itself:
// "login<CRLF>  failed" was "login\nfailed" where the LF file says "login failed",
// so a file's rules changed with the editor that last saved it.
func crlfAsLF(data []byte) []byte {
	if !bytes.Contains(data, []byte("\r\n")) {
		return data
	}
	return bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
}

// controlByte refuses a raw C0 control character other than tab, LF and CR anywhere in
// text: YAML allows none (c-printable), nor does JSON inside a string, but the lexer
// took them as text, so that "a<NUL>b" was a value, unseen in an editor.
func controlByte(text string) *textProblem {
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			line, col := positionOf(text, i)
			return &textProblem{line: line, col: col, msg: fmt.Sprintf(
				"control character U+%04X written raw, which YAML does not allow: write it as an escape in a double-quoted string (\"\\x%02x\")", c, c)}
		}
	}
	return nil
}

// notUTF8 refuses text with bytes that are not UTF-8: the lexer reads each as U+FFFD,
// so a scope or a compared value became text its author never wrote, where a control
// or an API body with the same bytes is refused (checkUTF8).
func notUTF8(text string) *textProblem {
	off, bad := jsontext.InvalidUTF8([]byte(text))
	if !bad {
		return nil
	}
	line, col := positionOf(text, off)
	return &textProblem{line: line, col: col, msg: fmt.Sprintf("byte 0x%02x is not UTF-8: a rules file is UTF-8 text", text[off])}
}

// positionOf is the line and column of byte offset off of text. An offset outside the
// text is taken as its nearest end: an offset reckoned on a token's decoded text (where
// a byte may have become several) must name a place, not panic.
func positionOf(text string, off int) (line, col int) {
	off = max(0, min(off, len(text)))
	start := strings.LastIndexByte(text[:off], '\n') + 1
	return strings.Count(text[:start], "\n") + 1, utf8.RuneCountInString(text[start:off]) + 1
}

// leadingZero is a plain scalar that YAML 1.1, which the decoder follows, reads as
// octal (02142 is 1122, -017 is -15), YAML 1.2 as decimal, and that is a string when
// a digit is 8 or 9 (08): what its author meant cannot be told.
var leadingZero = regexp.MustCompile(`^[-+]?0[0-9]+$`)

// checkScalars refuses, from the tokens of text, scalars the decoder would read as
// another value than the text says, before anything is parsed:
//   - a plain scalar with a tab inside: the lexer drops it ("login<TAB>failed" was
//     "loginfailed"), where YAML keeps it;
//   - a plain scalar value of digits with a leading zero (see leadingZero), unless
//     tagged !!str; a key is the string of its text (see yamlScalars) and is kept;
//   - an escape of a lone surrogate in a double-quoted scalar ("\udc00", or \U of one):
//     no character, which the decoder turned into U+FFFD, as a control's decoders do
//     and checkUTF8 refuses (a lone high one the lexer refuses itself); or a \x, \u or
//     \U escape without its hexadecimal digits, whose letters the lexer read as digits;
//   - a raw tab in a double-quoted scalar: the lexer then loses the token after it
//     (a ',', '}', or the next key's line), and the parser's message ("',' or '}'
//     must be specified", "value is not allowed in this context") points at text
//     that is fine. YAML allows it; the file is refused saying what to write.
//
// Positions are the lexer's, made right where it is one character off (after a tag).
func checkScalars(text string, tokens token.Tokens) *textProblem {
	var lines []int // offsets of the lines' starts, made when the text is read
	at := func(tk *token.Token, prefix string) (int, bool) {
		if lines == nil {
			lines = lineStarts(text)
		}
		return locate(text, lines, tk.Position.Line, tk.Position.Column, prefix)
	}
	for i, tk := range tokens {
		if tk.Type == token.DoubleQuoteType {
			if !strings.ContainsAny(tk.Value, "\uFFFD\t") && !strings.Contains(tk.Origin, `\`) {
				continue // no problem can be there: no need to read the text
			}
			if off, ok := at(tk, `"`); ok {
				if p := checkDoubleQuoted(text, off); p != nil {
					return p
				}
			}
			continue
		}
		if !plainScalar(tk) || anchorName(tokens, i) || blockScalar(tokens, i) {
			continue
		}
		if strings.Contains(tk.Origin, "\t") {
			// Origin is the scalar's text with the white space before it, which its
			// position does not count.
			content := strings.TrimLeft(tk.Origin, " \t\r\n")
			off, ok := at(tk, content[:strings.IndexAny(content+"\n", "\t\n")])
			if p := tabInPlain(text, off, ok, content, tk); p != nil {
				return p
			}
		}
		if leadingZero.MatchString(tk.Value) && !isKey(tokens, i) && !taggedStr(tokens, i) {
			line, col := tk.Position.Line, tk.Position.Column
			if off, ok := at(tk, tk.Value); ok {
				line, col = positionOf(text, off)
			}
			return &textProblem{line: line, col: col, msg: fmt.Sprintf(
				"%s has a leading zero, which YAML reads as octal (or as a string when a digit is 8 or 9): quote it for a string (%q), or drop the zero for a number", tk.Value, tk.Value)}
		}
	}
	return nil
}

// blockScalar reports whether tokens[i] is a block scalar's content (after | or >),
// which the reader keeps as written, tabs and leading zeros included: the lexer gives it
// as a string token like a plain scalar's.
func blockScalar(tokens token.Tokens, i int) bool {
	return i > 0 && (tokens[i-1].Type == token.LiteralType || tokens[i-1].Type == token.FoldedType)
}

// plainScalar reports whether tk is an unquoted scalar.
func plainScalar(tk *token.Token) bool {
	switch tk.Type {
	case token.StringType, token.IntegerType, token.FloatType, token.BinaryIntegerType, token.OctetIntegerType,
		token.HexIntegerType, token.BoolType, token.NullType, token.InfinityType, token.NanType:
		return true
	}
	return false
}

// isKey reports whether the scalar tokens[i] is a mapping's key (a ':' follows it).
func isKey(tokens token.Tokens, i int) bool {
	if i > 0 && tokens[i-1].Type == token.MappingKeyType { // ? 01
		return true
	}
	return i+1 < len(tokens) && tokens[i+1].Type == token.MappingValueType
}

// taggedStr reports whether the scalar tokens[i] is tagged !!str (before or after an
// anchor): its text, whatever it looks like.
func taggedStr(tokens token.Tokens, i int) bool {
	j := i - 1
	if anchorName(tokens, j) {
		j -= 2
	}
	return j >= 0 && tokens[j].Type == token.TagType &&
		(tokens[j].Value == string(token.StringTag) || tokens[j].Value == "!<tag:yaml.org,2002:str>")
}

// anchorName reports whether tokens[i] is the name of an anchor or alias (&name,
// *name), which the lexer gives as a token of its own after the '&' or '*'.
func anchorName(tokens token.Tokens, i int) bool {
	return i > 0 && i < len(tokens) && (tokens[i-1].Type == token.AnchorType || tokens[i-1].Type == token.AliasType)
}

// tabInPlain finds a tab inside content, the text of plain scalar tk, written at
// offset off of text (if found, else at tk's position): between two characters of one
// of its lines (white space around a line is no part of the value).
func tabInPlain(text string, off int, found bool, content string, tk *token.Token) *textProblem {
	for _, seg := range strings.Split(content, "\n") {
		inner := strings.Trim(seg, " \t\r")
		if at := strings.IndexByte(inner, '\t'); at >= 0 {
			line, col := tk.Position.Line, tk.Position.Column
			// The line's own indentation comes first. content is the lexer's reading of
			// the text, which may not be the text byte for byte: the offset counts only
			// where it names the tab.
			if pos := off + strings.Index(seg, inner) + at; found && pos < len(text) && text[pos] == '\t' {
				line, col = positionOf(text, pos)
			}
			return &textProblem{line: line, col: col, msg: fmt.Sprintf(
				"a tab inside the unquoted text %q, which the YAML reader drops: quote it (\"…\\t…\", or '…' with the tab)", inner)}
		}
		off += len(seg) + 1 // the next line starts after it
	}
	return nil
}

// locate is the offset in text of what the lexer placed at line and column (1-based,
// in characters), which starts with prefix: there, or a character after or before,
// as the lexer counts one off after a tag (!!int 0755). ok is false when it is not.
func locate(text string, lines []int, line, col int, prefix string) (off int, ok bool) {
	if line < 1 || line > len(lines) {
		return 0, false
	}
	i := lines[line-1]
	for c := 1; c < col && i < len(text) && text[i] != '\n'; c++ {
		_, n := utf8.DecodeRuneInString(text[i:])
		i += n
	}
	for _, j := range []int{i, i + 1, i - 1} {
		if j >= lines[line-1] && j < len(text) && strings.HasPrefix(text[j:], prefix) {
			return j, true
		}
	}
	return 0, false
}

// lineStarts is the offset of the start of each line of text.
func lineStarts(text string) []int {
	starts := []int{0}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// checkDoubleQuoted reads the double-quoted scalar at offset off of text as written
// (its token holds it decoded) for an escape of a lone surrogate, a \x, \u or \U escape
// without its hexadecimal digits, and a raw tab.
func checkDoubleQuoted(text string, off int) *textProblem {
	at := func(j int) *textProblem {
		l, c := positionOf(text, j)
		return &textProblem{line: l, col: c}
	}
	for i := off + 1; i < len(text); i++ {
		switch text[i] {
		case '"':
			return nil
		case '\t':
			p := at(i)
			p.msg = `a tab written raw in a double-quoted string, which the YAML reader misreads: write it as \t`
			return p
		case '\\':
			if i+1 >= len(text) {
				return nil
			}
			switch e := text[i+1]; e {
			case 'x', 'u', 'U':
				// The lexer reads any character there as a digit ("\u004G" was "W"),
				// where YAML and JSON refuse the text.
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				r, ok := hexAt(text, i+2, n)
				if !ok {
					p := at(i)
					p.msg = fmt.Sprintf(`escape %s: \%c needs %d hexadecimal digits after it: write the character itself, or its code (\%c%0*X for é)`,
						escapeText(text, i, n), e, n, e, n, 0xe9)
					return p
				}
				if e == 'x' {
					i += 3
					continue
				}
				if e == 'U' {
					if r >= 0xD800 && r <= 0xDFFF {
						return loneSurrogate(at(i), text[i:i+10])
					}
					if r > utf8.MaxRune {
						p := at(i)
						p.msg = fmt.Sprintf("escape %s is past U+10FFFF, which is no character", text[i:i+10])
						return p
					}
					i += 9
					continue
				}
				if r >= 0xD800 && r <= 0xDBFF && text[i+6:min(i+8, len(text))] == `\u` {
					if lo, ok := hexAt(text, i+8, 4); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 11 // a pair: one character beyond U+FFFF
						continue
					}
				}
				if r >= 0xD800 && r <= 0xDFFF {
					return loneSurrogate(at(i), text[i:i+6])
				}
				i += 5
				continue
			}
			i++ // the escaped character, a quote or a backslash perhaps
		}
	}
	return nil
}

// escapeText is the escape at text[i:] as written, up to its n digits, the closing
// quote or the line's end.
func escapeText(text string, i, n int) string {
	end := min(i+2+n, len(text))
	if j := strings.IndexAny(text[i+2:end], "\"\n"); j >= 0 {
		end = i + 2 + j
	}
	return text[i:end]
}

func loneSurrogate(p *textProblem, escape string) *textProblem {
	p.msg = fmt.Sprintf("escape of a lone surrogate (%s), which is no character: write the character itself, or a surrogate pair for one beyond U+FFFF", escape)
	return p
}

// hexAt is the number written in n hexadecimal digits at text[i:].
func hexAt(text string, i, n int) (rune, bool) {
	if i+n > len(text) {
		return 0, false
	}
	r, err := strconv.ParseUint(text[i:i+n], 16, 32)
	if err != nil {
		return 0, false
	}
	// Eight digits reach past the largest rune: kept above utf8.MaxRune rather than
	// wrapped negative, so that the caller's range check refuses \U80000000.
	return rune(min(r, utf8.MaxRune+1)), true
}
