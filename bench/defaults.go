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

// noneOrDefault is for the fields where a negative value asks for none: it becomes
// 0, and zero (unset) becomes def.
func noneOrDefault[T int | time.Duration](v *T, def T) {
	switch {
	case *v < 0:
		*v = 0
	case *v == 0:
		*v = def
	}
}

// discardLogger is the logger of benchmarks whose components should keep quiet
// unless the caller asks for their logs.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
