package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeRunnableBlocks runs every line of the README's shell blocks marked
// <!-- runnable --> as written, from the repository's top directory, with the built
// binary as `hindsight` on PATH and a fresh data directory: each must exit 0.
func TestReadmeRunnableBlocks(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)<!-- runnable -->\n```sh\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("the README marks no block runnable")
	}
	bin := hindsightBinary(t)
	top, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HINDSIGHT_DATA_DIR="+t.TempDir())
	lines := 0
	for _, b := range blocks {
		for _, line := range strings.Split(strings.TrimSpace(b[1]), "\n") {
			if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			lines++
			cmd := exec.Command("sh", "-c", line)
			cmd.Dir, cmd.Env = top, env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("README line %q: %v\n%s", line, err, out)
			}
		}
	}
	t.Logf("%d runnable lines in %d blocks", lines, len(blocks))
}
