package main

import (
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/live/livetest"
)

// TestLivePreviewSampleFlagsFillTheirOwnLimits: --preview-sample and
// --preview-max-sample, given apart, each reach the limit of its name in /metrics.
// TestLiveExposureFlags gives neither, so --preview-sample writing the maximum (the
// flag registered with the wrong field) passed every test while the default sample
// stayed what it was.
func TestLivePreviewSampleFlagsFillTheirOwnLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("live preview sample flags: make test runs it")
	}
	t.Parallel()
	p := startLiveProc(t, t.TempDir(), "preview", "--ephemeral", "--embedded-addr", "127.0.0.1:0", "--no-backfill",
		"--preview-sample", "7", "--preview-max-sample", "9")
	addr := p.waitHTTP(t)
	metrics := livetest.GetText(t, "http://"+addr+"/metrics")
	for _, want := range []string{`hindsight_limit{name="preview_sample"} 7`, `hindsight_limit{name="preview_max_sample"} 9`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
