package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeBlocks are the README's shell blocks marked runnable: "runnable" ones run
// alone, "runnable with live" ones against a daemon.
var readmeBlocks = regexp.MustCompile("(?s)<!-- (runnable|runnable with live) -->\n```sh\n(.*?)```")

// TestReadmeRunnableBlocks runs every line of the README's shell blocks marked
// runnable as written, with bash, in a fresh directory that holds the repository's
// testdata and cmd directories (so, as from the repository's top directory, but with
// its own ./hindsight-data), with the built binary as `hindsight` on PATH: each must
// exit 0. A block marked "runnable with live" runs against `hindsight live` started in
// that directory, its fixed addresses (127.0.0.1:9092, 127.0.0.1:8080) replaced by the
// daemon's free ports.
func TestReadmeRunnableBlocks(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow: the README's commands against the built binary and a daemon; runs in make test")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks.FindAllStringSubmatch(string(readme), -1)
	kinds := map[string]int{}
	for _, b := range blocks {
		kinds[b[1]]++
	}
	if kinds["runnable"] == 0 || kinds["runnable with live"] == 0 {
		t.Fatalf("the README's runnable blocks: %v; want both kinds", kinds)
	}
	bin := hindsightBinary(t)
	kcatBin := kcatPath(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is not installed (make test installs it)")
	}
	top, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"testdata", "cmd"} {
		if err := os.Symlink(filepath.Join(top, d), filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	lines := 0
	var stop func()
	for _, b := range blocks {
		replace := strings.NewReplacer()
		benv := env
		if b[1] == "runnable with live" {
			if stop == nil {
				var broker, httpAddr string
				broker, httpAddr, stop = startDaemonIn(t, bin, dir, "live")
				defer stop()
				replace = strings.NewReplacer("127.0.0.1:9092", broker, "127.0.0.1:8080", httpAddr, "kcat ", kcatBin+" ")
				benv = append(benv, "HINDSIGHT_BROKERS="+broker)
			}
		}
		for _, line := range strings.Split(strings.TrimSpace(b[2]), "\n") {
			if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			lines++
			cmd := exec.Command("bash", "-c", replace.Replace(line))
			cmd.Dir, cmd.Env = dir, benv
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("README line %q: %v\n%s", line, err, out)
			}
		}
	}
	t.Logf("%d runnable lines in %d blocks", lines, len(blocks))
}
