package backfill

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

// TestUnreadableFileIsNamed: a lake file DuckDB refuses (an older archiver wrote a key
// that is not UTF-8 into its customer column) fails the job with ErrUnreadableFile and
// the file's name, so the error can be acted on — not a query error over a batch of
// files that names none of them.
func TestUnreadableFileIsNamed(t *testing.T) {
	t.Parallel()
	bkt := lakehouse.NewMemBucket()
	files := lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {
		lakehousetest.LegacyRows(0, "c-1", `{"a":"admin"}`, `{"a":"user"}`),
		append(lakehousetest.LegacyRows(2, "c-1", `{"a":"admin"}`), lakehousetest.LegacyRows(3, "c-\xff", `{"a":"admin"}`)...),
		lakehousetest.LegacyRows(4, "c-2", `{"a":"admin"}`),
	}})
	lake := lakehouse.NewLake(bkt, nil)
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	r := VerdictRules(t)[0]
	_, err = runner.Run(context.Background(), Job{Rule: r, Start: map[int32]int64{0: 5}})
	if !errors.Is(err, ErrUnreadableFile) {
		t.Fatalf("error %v, want ErrUnreadableFile", err)
	}
	if !strings.Contains(err.Error(), files[1].Path) || strings.Contains(err.Error(), files[0].Path) || strings.Contains(err.Error(), files[2].Path) {
		t.Errorf("error %q does not name exactly the unreadable file %s", err, files[1].Path)
	}
}

// TestLegacyFilesCountAsLive: files written before the archiver applied the acceptance
// check hold what live dead-lettered (NaN, trailing commas, nesting past the limit,
// U+FFFD where bytes were not UTF-8...); their rows go to the Go evaluator, which
// validates as live does, so they count as live counted.
func TestLegacyFilesCountAsLive(t *testing.T) {
	t.Parallel()
	bkt := lakehouse.NewMemBucket()
	payloads := OddPayloads(rand.New(rand.NewPCG(5, 5)), 600)
	for i, p := range payloads {
		payloads[i] = strings.ToValidUTF8(p, "\uFFFD") // what the older archiver stored
	}
	lakehousetest.WriteLegacyLake(t, bkt, map[int32][][]lakehouse.Row{0: {lakehousetest.LegacyRows(0, "c-1", payloads[:300]...), lakehousetest.LegacyRows(300, "c-2", payloads[300:]...)}})
	lake := lakehouse.NewLake(bkt, nil)
	// One DuckDB database for the 39 jobs (Config.DB): opening one per job was most of
	// the test's CPU. What is tested is which evaluator a legacy file's rows go to;
	// TestUnreadableFileIsNamed and the other runner tests keep the per-job database.
	runner, err := NewRunner(Config{Lake: lake, CacheDir: t.TempDir(), DB: openDuck(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	doc := jsonpath.NewDocument()
	var total int64
	for i, r := range VerdictRules(t) {
		res, err := runner.Run(context.Background(), Job{Rule: r, Start: map[int32]int64{0: int64(len(payloads))}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		for j, p := range payloads {
			c := []string{"c-1", "c-2"}[j/300]
			if goVerdict(doc, c, []byte(p), r) {
				want[c]++
			}
		}
		if !maps.Equal(res.Counts, want) {
			t.Errorf("rule %s: counts %v, live's verdict %v", VerdictConditions[i], res.Counts, want)
		}
		for _, n := range want {
			total += n
		}
	}
	if total < 200 {
		t.Fatalf("only %d matches over all rules: the test shows too little", total)
	}
}
