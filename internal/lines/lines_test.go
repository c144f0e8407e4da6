package lines

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestNext(t *testing.T) {
	type line struct {
		text   string
		number int
		long   int64 // the TooLongError's length; 0: the line is read
	}
	long := strings.Repeat("x", 200_000)
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want []line
	}{
		{"lines", "a\nbb\n\nccc", 10, []line{{"a", 1, 0}, {"bb", 2, 0}, {"", 3, 0}, {"ccc", 4, 0}}},
		{"crlf", "a\r\nb\r\n", 10, []line{{"a", 1, 0}, {"b", 2, 0}}},
		{"a lone cr stays", "a\rb\n", 10, []line{{"a\rb", 1, 0}}},
		{"empty input", "", 10, nil},
		{"at the max", "12345\r\n123456\n", 5, []line{{"12345", 1, 0}, {"", 2, 6}}},
		{"at the max without an end", "123456", 5, []line{{"", 1, 6}}},
		{"the lines after a long one are read", "{}\n" + long + "\n{\"a\":1}\n" + long + "\r\n{}", 1000,
			[]line{{"{}", 1, 0}, {"", 2, 200_000}, {`{"a":1}`, 3, 0}, {"", 4, 200_000}, {"{}", 5, 0}}},
		{"a long last line", "{}\n" + long, 100_000, []line{{"{}", 1, 0}, {"", 2, 200_000}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One byte a read too, so that lines end across the reader's buffer.
			for _, in := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				r := NewReader(in, tc.max)
				var got []line
				for {
					text, n, err := r.Next()
					if err == io.EOF {
						break
					}
					var tl *TooLongError
					switch {
					case errors.As(err, &tl):
						if !errors.Is(err, ErrTooLong) || tl.Line != n || tl.Max != tc.max {
							t.Fatalf("line %d: error %v (%+v)", n, err, tl)
						}
						got = append(got, line{"", n, tl.Bytes})
					case err != nil:
						t.Fatal(err)
					default:
						got = append(got, line{string(text), n, 0})
					}
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %d lines %+v, want %+v", len(got), got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("line %d: got %+v, want %+v", i+1, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

// A long line is not held: a reader keeps at most its max of it, whatever its length.
func TestLongLineIsNotHeld(t *testing.T) {
	const max = 100 << 10
	r := NewReader(strings.NewReader(strings.Repeat("y", 20<<20)+"\n{}\n"), max)
	if _, _, err := r.Next(); !errors.Is(err, ErrTooLong) {
		t.Fatalf("first line: %v, want too long", err)
	}
	if c := cap(r.buf); c > 2*(max+2) {
		t.Errorf("after a line of 20 MiB, the reader holds %d bytes for it, want at most %d", c, 2*(max+2))
	}
	if text, n, err := r.Next(); err != nil || string(text) != "{}" || n != 2 {
		t.Errorf("second line: %q %d %v", text, n, err)
	}
}

func TestReadErrorSaysWhichLine(t *testing.T) {
	r := NewReader(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(errors.New("disk gone"))), 10)
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.Next()
	if err == nil || err.Error() != "reading line 2: disk gone" {
		t.Errorf("got %v, want the read error on line 2", err)
	}
}

// TestTooLongCRLFAcrossTheBuffer: a too-long line ending "\r\n" is told without its
// line end, whatever the reader's buffer held: with the "\r" the last byte of a full
// 64 KiB buffer, the last piece is "\n" alone, and the "\r" was counted as part of the
// line (a review's test).
func TestTooLongCRLFAcrossTheBuffer(t *testing.T) {
	const bufSize = 64 << 10
	content := strings.Repeat("x", bufSize-1) // with its "\r", exactly one buffer
	r := NewReader(strings.NewReader(content+"\r\n{}\n"), 10)
	_, _, err := r.Next()
	var tl *TooLongError
	if !errors.As(err, &tl) {
		t.Fatalf("first line: %v, want a *TooLongError", err)
	}
	if tl.Bytes != int64(len(content)) {
		t.Errorf("a line of %d bytes and \"\\r\\n\" is told as %d bytes", len(content), tl.Bytes)
	}
	// The same line without the "\r" is told right.
	r = NewReader(strings.NewReader(content+"\n{}\n"), 10)
	if _, _, err := r.Next(); !errors.As(err, &tl) || tl.Bytes != int64(len(content)) {
		t.Errorf("with \"\\n\" alone: %v", err)
	}
}

// TestNewReaderDefaultMax: a max of 0 or less is DefaultMax, not a bound refusing every
// line that is not empty.
func TestNewReaderDefaultMax(t *testing.T) {
	for _, max := range []int{0, -1} {
		r := NewReader(strings.NewReader("abc\n"), max)
		if line, n, err := r.Next(); string(line) != "abc" || n != 1 || err != nil || r.max != DefaultMax {
			t.Errorf("NewReader(.., %d): %q %d %v, max %d; want \"abc\" 1 <nil>, max %d", max, line, n, err, r.max, DefaultMax)
		}
	}
}
