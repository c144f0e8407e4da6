package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
)

// TestProduceReportsLinesNotSentOnStderr: a line produce does not send is an error of
// its input, written on standard error; standard output holds the events sent and the
// summary. The errors were on standard output, mixed into the report a script keeps
// (produce ... > sent.log), and not on the terminal.
func TestProduceReportsLinesNotSentOnStderr(t *testing.T) {
	t.Parallel()
	b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
	cmd := newRootCmd()
	var stdout, stderr bytes.Buffer
	cmd.SetIn(strings.NewReader(`{"type":"a","customer":"c-1"}` + "\nnot json\n"))
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	err := execute(context.Background(), cmd, []string{"produce", "--brokers", b.Addr})
	if exitCode(err) != 1 {
		t.Errorf("exit status %d (%v), want 1 for a line not sent", exitCode(err), err)
	}
	if got := stderr.String(); !strings.HasPrefix(got, "line 2: not one JSON event") || !strings.Contains(got, "; not sent\n") {
		t.Errorf("stderr %q, want line 2 reported not sent", got)
	}
	want := `sent events/0@0  c-1  {"type":"a","customer":"c-1"}` + "\n1 event sent to events on " + b.Addr + " (1 customer); 1 line not sent\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout %q, want %q (the events sent and the summary alone)", got, want)
	}
}
