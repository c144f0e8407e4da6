package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/internal/lines"
)

// stopAbandons says, by command path (as `hindsight` CMD… names it), what a command's
// stop leaves undone when a second signal ends the process: one text had named live's
// steps (alerts in flight, snapshots, the archive's flush) for every command, produce
// and notify included. A command not here has a short stop or nothing to lose, and
// gets abandonedElse.
var stopAbandons = map[string]string{
	"live": liveAbandons,
	// demo runs live, on its own broker and data directory.
	"demo":    liveAbandons,
	"archive": "the final flush of the buffered events to the lake left undone; the next start resumes from the lake's manifest and reads those events again from Kafka, nothing lost",
	"notify":  "the alerts being delivered left as kill -9 leaves them; an alert's offset is committed only once it is delivered or recorded undelivered, so the next start delivers them again (receivers dedupe by the Idempotency-Key header), none lost",
	"produce": "events not yet acknowledged by the broker may or may not have been sent, and no summary says how many were: look at the topic before sending the input again",
}

const (
	liveAbandons   = "alerts in flight, the last commit, snapshots and the archive's final flush left as kill -9 leaves them; the next start resumes from the last snapshot and committed offsets, nothing lost, alerts may come again"
	abandonedElse  = "left as kill -9 leaves it"
	abandonedIntro = "exiting at once, the stop under way abandoned"
)

// commandOf is the command root runs for args (root itself when args name none), so
// that the second signal's words are known before it runs.
func commandOf(root *cobra.Command, args []string) *cobra.Command {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return root
	}
	return c
}

// secondSignalText is what the process says when a second signal s ends c's stop.
func secondSignalText(c *cobra.Command, s os.Signal) string {
	what := abandonedElse
	path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), c.Root().Name()), " ")
	if w, ok := stopAbandons[path]; ok {
		what = w
	}
	if path == "" {
		return fmt.Sprintf("hindsight: %v again: %s (%s)\n", s, abandonedIntro, what)
	}
	return fmt.Sprintf("hindsight: %v again: %s (%s: %s)\n", s, abandonedIntro, path, what)
}

// exitOnSecondSignal ends the process at a second SIGINT or SIGTERM, the first having
// begun c's stop (its context), which can take a while (live's bounds are
// --shutdown-timeout each): an operator who asks twice wants out, and the signals were
// ignored. What the stop had not finished is left as kill -9 leaves it, which every
// command is safe against (live restarts from its snapshots and committed offsets);
// the line printed says what that is for c. It runs for the life of the process.
func exitOnSecondSignal(c *cobra.Command) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs // the first: the command's context ends, and its stop begins
	s := <-sigs
	fmt.Fprint(os.Stderr, secondSignalText(c, s))
	lines.PutBackModes() // os.Exit runs no release: a shell's terminal must not stay non-blocking
	os.Exit(1)
}
