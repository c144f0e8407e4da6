package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestPackageSectionsNameTheirImports holds each "### Package `X`" section's
// "Depends on …." sentence of docs/architecture.md to the module packages X's non-test
// files import, as TestArchitectureMapDrawsTheImports holds the map (which checks
// this sentence for lakehouse alone). A newcomer reads the sentence as the package's
// whole list.
func TestPackageSectionsNameTheirImports(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile("(?m)^### Package `([^`]+)`\n")
	dependsOn := regexp.MustCompile(`(?s)Depends on (.*?)\.(\s|$)`)
	locs := section.FindAllStringSubmatchIndex(string(doc), -1)
	checked := 0
	for i, l := range locs {
		pkg := string(doc[l[2]:l[3]])
		end := len(doc)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if n := strings.Index(string(doc[l[1]:end]), "\n## "); n >= 0 {
			end = l[1] + n
		}
		m := dependsOn.FindStringSubmatch(string(doc[l[1]:end]))
		if m == nil || strings.Contains(m[1], "sonic only") {
			continue
		}
		var named []string
		for _, name := range backticked(m[1]) {
			named = append(named, expand(t, name)...)
		}
		checked++
		// Read once per section: build.ImportDir reads the header of every file of the
		// directory, the tests' among them (live has hundreds).
		imports := moduleImports(t, root, pkg)
		for _, p := range imports {
			if !slices.Contains(named, p) {
				t.Errorf("package %s imports %s, which its section's \"Depends on\" sentence does not name (it names %v)", pkg, p, named)
			}
		}
		for _, p := range named {
			if !slices.Contains(imports, p) {
				t.Errorf("package %s's section says it depends on %s, which it does not import", pkg, p)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d \"Depends on\" sentences found", checked)
	}
}
