package main

import (
	"strings"
	"testing"
)

// TestUnknownHelpTopicAndSuggestions: cobra says "Unknown help topic" for
// `hindsight help nosuch`, and suggests the command meant for a typo
// (`hindsight rulse`: Did you mean this? rules), which exits 2. The root made runnable
// to mark unknown commands as usage errors had lost both (found by a review helper).
func TestUnknownHelpTopicAndSuggestions(t *testing.T) {
	t.Parallel()
	out, err := run(t, "", "help", "nosuch")
	if !strings.Contains(out, "Unknown help topic") {
		t.Errorf("hindsight help nosuch (err %v) does not say the topic is unknown:\n%.300s", err, out)
	}
	out, err = run(t, "", "rulse")
	if err == nil || !strings.Contains(err.Error(), "Did you mean this?") || exitCode(err) != 2 {
		t.Errorf("hindsight rulse: %v, want cobra's suggestion of rules\n%.300s", err, out)
	}
}
