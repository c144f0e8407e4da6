package bench

import (
	"io"
	"log/slog"
	"time"
)

// Every benchmark config follows one convention for its counts, sizes and durations,
// so that a zero config (or `hindsight bench` without flags) runs the documented
// sizes; these helpers are that convention.

// orDefault sets *v to def when it is unset: zero, or negative, which no such field
// gives a meaning.
func orDefault[T uint64 | int | int32 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// noneOrDefault is for the fields where a negative value asks for none: zero (unset)
// becomes def, and a negative value stays as it is, so that it still means none when
// defaults are applied again (the CLI applies them, then the benchmark does); the
// benchmark reads it through none.
func noneOrDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// none is a noneOrDefault field's value: 0 when it asks for none.
func none[T int | int64 | time.Duration](v T) T { return max(0, v) }

// discardLogger is the logger of benchmarks whose components should keep quiet
// unless the caller asks for their logs.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
