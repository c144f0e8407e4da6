// Package lines reads text a line at a time with a bound on a line's length. A longer
// line is reported, by its number and length, and skipped, and the lines after it are
// read on: bufio.Scanner stops the whole stream at the first such line, so that one
// oversized event lost every event after it. Only a line's first max bytes are held.
// UntilDone makes an input's reading end with a context, idle pipes and fifos too (a
// terminal the process also writes to is read as it is).
package lines

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMax is the longest line the command line's event readers take unless told
// otherwise (--max-line-bytes): 16 MiB, far above the broker's default record size of
// 1 MB, so that only a line no broker would take is refused.
const DefaultMax = 16 << 20

// ErrTooLong is what a TooLongError is (errors.Is).
var ErrTooLong = errors.New("line too long")

// TooLongError is a line longer than the reader's max, skipped.
type TooLongError struct {
	Line  int   // its number, from 1
	Bytes int64 // its length, without its end
	Max   int
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("line %d is %d bytes, longer than the limit of %d", e.Line, e.Bytes, e.Max)
}

func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

// Reader reads lines. A line ends at "\n" or at the end of the input; a "\r" before its
// "\n" is not part of it, as bufio.ScanLines has it.
type Reader struct {
	br   *bufio.Reader
	max  int
	line int
	buf  []byte
}

// NewReader reads r's lines, each at most max bytes (DefaultMax when max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMax
	}
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Next returns the next line and its number. The line is valid until the next call.
// A line longer than the max is read to its end and dropped: Next returns its number
// and a *TooLongError, and the following call reads the line after it. At the end of
// the input the error is io.EOF; a read error is returned wrapped.
func (r *Reader) Next() (line []byte, number int, err error) {
	r.buf = r.buf[:0]
	var total int64
	cr := false // the chunk before this one ended in "\r"
	for {
		chunk, err := r.br.ReadSlice('\n')
		total += int64(len(chunk))
		if total <= int64(r.max)+2 { // room for the line's "\r\n"
			r.buf = append(r.buf, chunk...)
		}
		switch {
		case err == nil || (err == io.EOF && total > 0):
			r.line++
			if total > int64(len(r.buf)) { // not held: only its length is told
				return nil, r.line, &TooLongError{Line: r.line, Bytes: total - trailing(chunk, cr), Max: r.max}
			}
			text := bytes.TrimSuffix(r.buf, []byte("\n"))
			text = bytes.TrimSuffix(text, []byte("\r"))
			if len(text) > r.max {
				return nil, r.line, &TooLongError{Line: r.line, Bytes: int64(len(text)), Max: r.max}
			}
			return text, r.line, nil
		case err == bufio.ErrBufferFull:
			cr = chunk[len(chunk)-1] == '\r'
			continue
		case err == io.EOF:
			return nil, r.line, io.EOF
		default:
			return nil, r.line, fmt.Errorf("reading line %d: %w", r.line+1, err)
		}
	}
}

// trailing is how many of the line end's bytes ("\n", "\r\n") end chunk, the last
// piece of a line; cr: the piece before it ended in "\r".
func trailing(chunk []byte, cr bool) int64 {
	switch {
	case bytes.HasSuffix(chunk, []byte("\r\n")), string(chunk) == "\n" && cr:
		return 2
	case bytes.HasSuffix(chunk, []byte("\n")):
		return 1
	}
	return 0
}
