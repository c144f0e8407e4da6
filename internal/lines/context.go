package lines

import (
	"context"
	"io"
	"os"
	"sync"
	"time"
)

// unreleased are the blocking modes UntilDone changed and has not put back, for
// PutBackModes.
var unreleased sync.Map // *byte (one per UntilDone) → its restore

// PutBackModes puts back the blocking mode of every file UntilDone reads and has not
// released: for a process that ends at once (a second signal), which runs no release.
// The mode belongs to the open file, which other processes may share (a fifo's other
// readers): left non-blocking, their reads fail with EAGAIN. A process killed by
// another signal (SIGKILL, SIGHUP) runs neither; UntilDone leaves a terminal the
// process writes to alone for that reason too.
func PutBackModes() {
	unreleased.Range(func(_, restore any) bool {
		restore.(func())()
		return true
	})
}

// UntilDone is r read until ctx ends, and the function that releases what it holds
// (not closing r). A command reading a pipe, a fifo or a terminal left open and idle
// was blocked in Read, deaf to the signal that ended its context: it kept waiting, and
// when the input later ended it reported a full run. Reading an *os.File that the
// runtime's poller can wait on (a copy of its descriptor), the context's end sets a
// read deadline, which returns a blocked Read at once with the context's cause; no
// goroutine is left reading. Other readers (a regular file, a test's in-memory input)
// are read as they are: their Read returns by itself.
func UntilDone(ctx context.Context, r io.Reader) (io.Reader, func()) {
	f, ok := r.(*os.File)
	if !ok {
		return r, func() {}
	}
	if sharesOutput(f) {
		// A terminal the process also writes to: its blocking mode is the open
		// file's, which stdout and stderr share, and a write of theirs (outside the
		// poller) to a full terminal would fail with EAGAIN, losing the summary; read
		// as it is, a signal takes effect at the next line or the input's end.
		return r, func() {}
	}
	pf, setMode := pollable(f)
	if pf == nil {
		return r, func() {}
	}
	// Once, whoever comes first: release, or PutBackModes at an exit it does not wait
	// for; after release closed the copy its number may be another file's.
	var once sync.Once
	restore := func() { once.Do(setMode) }
	key := new(byte)
	unreleased.Store(key, restore)
	set := make(chan struct{}) // closed once the context's end has set the deadline
	stop := context.AfterFunc(ctx, func() {
		defer close(set)
		_ = pf.SetReadDeadline(time.Now())
	})
	release := func() {
		if !stop() {
			<-set // the deadline is being set: the file stays open until it is
		}
		unreleased.Delete(key)
		restore()
		_ = pf.Close()
	}
	return &doneReader{ctx: ctx, f: pf}, release
}

// sharesOutput says whether f is the file os.Stdout or os.Stderr writes (a terminal
// they share, so also its open file and blocking mode), or whether that cannot be
// told.
func sharesOutput(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return true
	}
	for _, o := range []*os.File{os.Stdout, os.Stderr} {
		if oi, err := o.Stat(); err == nil && os.SameFile(fi, oi) {
			return true
		}
	}
	return false
}

// doneReader reads f, its error once ctx has ended the context's cause.
type doneReader struct {
	ctx context.Context
	f   *os.File
}

func (r *doneReader) Read(p []byte) (int, error) {
	if r.ctx.Err() != nil {
		return 0, context.Cause(r.ctx)
	}
	n, err := r.f.Read(p)
	if err != nil && r.ctx.Err() != nil {
		return n, context.Cause(r.ctx)
	}
	return n, err
}
