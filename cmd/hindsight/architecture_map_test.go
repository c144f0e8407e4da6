package main

import (
	"go/build"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The map's dependency block is the one place a newcomer learns which stage may
// import which; a review found it naming a third of the imports wrong after a few
// sessions of changes. This test holds it to the code: every arrow a stage's line
// draws is an import, every import of a module package is drawn (the shared model
// aside, which every stage may use), every stage has its line, the shared model
// imports no stage, and the lakehouse sentence lists what lakehouse imports.

const modulePath = "github.com/hindsightdev/hindsight/"

// sharedModel may be imported by every stage without an arrow of its own.
var sharedModel = []string{"controls", "contract", "rule", "jsonpath"}

func TestArchitectureMapDrawsTheImports(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	block := between(t, text, "### Dependency direction\n\n```\n", "\n```")
	stages := map[string][]string{}
	for line := range strings.SplitSeq(block, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "stages:"))
		if strings.HasPrefix(line, "shared model:") || strings.HasPrefix(line, "cmd/hindsight") || line == "" {
			continue
		}
		from, to, ok := strings.Cut(line, " ──► ")
		if !ok || strings.Contains(to, "──►") {
			t.Fatalf("map line %q: want \"stage ──► imports\"", line)
		}
		stages[from] = expand(t, to)
	}
	if len(stages) < 8 {
		t.Fatalf("map lists %d stages (%v): the block was not read", len(stages), slices.Sorted(maps.Keys(stages)))
	}
	m := regexp.MustCompile("`lakehouse`\\s+imports only ([^;]*);").FindStringSubmatch(text)
	if m == nil {
		t.Fatal("the map's sentence of what lakehouse imports is gone")
	}
	stages["lakehouse"] = backticked(m[1])
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if _, drawn := stages[name]; drawn || !e.IsDir() || name == "cmd" || name == "internal" || slices.Contains(sharedModel, name) {
			continue
		}
		if files, _ := filepath.Glob(filepath.Join(root, name, "*.go")); len(files) > 0 {
			t.Errorf("package %s has no line of its own in the map", name)
		}
	}

	for stage, drawn := range stages {
		got := moduleImports(t, root, stage)
		for _, p := range drawn {
			if !slices.Contains(got, p) {
				t.Errorf("the map draws %s ──► %s, which %s does not import (it imports %v)", stage, p, stage, got)
			}
		}
		for _, p := range got {
			if !slices.Contains(drawn, p) && (stage == "lakehouse" || !slices.Contains(sharedModel, p)) {
				t.Errorf("%s imports %s, which the map does not draw", stage, p)
			}
		}
	}
	for _, shared := range sharedModel {
		for _, p := range moduleImports(t, root, shared) {
			if _, isStage := stages[p]; isStage {
				t.Errorf("shared model package %s imports stage %s", shared, p)
			}
		}
	}
}

// between is the text from after start to before the next end.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		t.Fatalf("%q not found", start)
	}
	in, _, ok := strings.Cut(rest, end)
	if !ok {
		t.Fatalf("no %q after %q", end, start)
	}
	return in
}

// expand reads "a, b (a note), internal/{c,d}" as [a b internal/c internal/d].
func expand(t *testing.T, list string) []string {
	t.Helper()
	list = regexp.MustCompile(`\s*\([^)]*\)`).ReplaceAllString(list, "")
	var out []string
	for _, item := range regexp.MustCompile(`[^,{]+(\{[^}]*\})?`).FindAllString(list, -1) {
		item = strings.TrimSpace(item)
		if prefix, group, ok := strings.Cut(item, "{"); ok {
			for name := range strings.SplitSeq(strings.TrimSuffix(group, "}"), ",") {
				out = append(out, prefix+strings.TrimSpace(name))
			}
			continue
		}
		if item != "" {
			out = append(out, item)
		}
	}
	return out
}

// backticked lists the `names` in s.
func backticked(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// moduleImports lists the module's packages that pkg's non-test files import, by
// path within the module.
func moduleImports(t *testing.T, root, pkg string) []string {
	t.Helper()
	bp, err := build.ImportDir(filepath.Join(root, filepath.FromSlash(pkg)), 0)
	if err != nil {
		t.Fatalf("reading package %s: %v", pkg, err)
	}
	var out []string
	for _, p := range bp.Imports {
		if rest, ok := strings.CutPrefix(p, modulePath); ok {
			out = append(out, rest)
		}
	}
	return out
}
