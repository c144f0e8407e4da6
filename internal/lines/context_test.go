//go:build unix

package lines

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestUntilDoneEndsABlockedRead: a pipe left open and idle, the context's end returns
// the Read blocked on it with the context's cause, and release leaves the pipe as it
// found it: open, blocking, its next line readable.
func TestUntilDoneEndsABlockedRead(t *testing.T) {
	pr, pw := blockingPipe(t)
	stopped := errors.New("stopped")
	ctx, cancel := context.WithCancelCause(context.Background())
	before, err := fcntl(pr)
	if err != nil {
		t.Fatal(err)
	}
	if before&syscall.O_NONBLOCK != 0 {
		t.Fatalf("the pipe is O_NONBLOCK (flags %#x) before the test", before)
	}
	in, release := UntilDone(ctx, pr)
	lr := NewReader(in, 0)
	if _, err := pw.WriteString("one\n"); err != nil {
		t.Fatal(err)
	}
	if b, n, err := lr.Next(); err != nil || n != 1 || string(b) != "one" {
		t.Fatalf("first line: %q, %d, %v; want \"one\", 1, nil", b, n, err)
	}
	got := make(chan error, 1)
	go func() { _, _, err := lr.Next(); got <- err }()
	cancel(stopped)
	if err := <-got; !errors.Is(err, stopped) {
		t.Fatalf("Next on an idle pipe after the context's end: %v, want the cause %v", err, stopped)
	}
	release()
	fl, err := fcntl(pr)
	if err != nil {
		t.Fatal(err)
	}
	if fl&syscall.O_NONBLOCK != 0 {
		t.Errorf("after release the pipe is O_NONBLOCK (flags %#x): its other readers (a shell's terminal) would get EAGAIN", fl)
	}
	if _, err := pw.WriteString("two\n"); err != nil {
		t.Fatal(err)
	}
	if b, n, err := NewReader(pr, 0).Next(); err != nil || n != 1 || string(b) != "two" {
		t.Fatalf("the pipe read after release: %q, %d, %v; want \"two\"", b, n, err)
	}
}

// fcntl is f's file status flags.
func fcntl(f *os.File) (int, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var fl uintptr
	var errno syscall.Errno
	if err := sc.Control(func(fd uintptr) { fl, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0) }); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(fl), nil
}

// TestPutBackModesRestoresUnreleased: a process ending at once (a second signal) runs
// no release; PutBackModes puts the blocking mode back for it, so that a terminal the
// shell shares is blocking again, and a release after it changes nothing.
func TestPutBackModesRestoresUnreleased(t *testing.T) {
	pr, _ := blockingPipe(t)
	_, release := UntilDone(context.Background(), pr)
	defer release()
	if fl, err := fcntl(pr); err != nil || fl&syscall.O_NONBLOCK == 0 {
		t.Fatalf("while read by UntilDone the pipe's flags are %#x (%v), want O_NONBLOCK (what PutBackModes must undo)", fl, err)
	}
	PutBackModes()
	if fl, err := fcntl(pr); err != nil || fl&syscall.O_NONBLOCK != 0 {
		t.Errorf("after PutBackModes the pipe's flags are %#x (%v): still O_NONBLOCK", fl, err)
	}
}

// blockingPipe is a pipe as a process's stdin is: blocking, which os.Pipe's is not.
// Both ends are closed when the test ends.
func blockingPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r, w = os.NewFile(uintptr(fds[0]), "stdin"), os.NewFile(uintptr(fds[1]), "pipe")
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}
