//go:build unix

package lines

import (
	"os"
	"syscall"
	"time"
)

// pollable is a copy of f (a dup of its descriptor) that the runtime's poller waits on,
// so that a read deadline can end a blocked Read, and the function that puts f's
// blocking mode back; nil when f cannot be one (a regular file, whose reads never wait).
// The copy shares f's open file, and so its O_NONBLOCK: os.Stdin, and a shell sharing a
// terminal, must find it in its own mode (blocking) again once the reading is done.
func pollable(f *os.File) (*os.File, func()) {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, nil
	}
	fd := -1
	if cerr := sc.Control(func(u uintptr) { fd, err = syscall.Dup(int(u)) }); cerr != nil || err != nil {
		return nil, nil
	}
	fl, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	if errno != 0 {
		syscall.Close(fd)
		return nil, nil
	}
	wasNonblock := fl&syscall.O_NONBLOCK != 0
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, nil
	}
	restore := func() { _ = syscall.SetNonblock(fd, wasNonblock) }
	pf := os.NewFile(uintptr(fd), f.Name())
	if pf.SetReadDeadline(time.Time{}) != nil { // not pollable
		restore()
		pf.Close()
		return nil, nil
	}
	return pf, restore
}
