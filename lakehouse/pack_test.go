package lakehouse

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Files filled and packed at once — the archiver's poll loop and its compaction, which
// merges files in the background — keep their payloads exactly. pack's scratch went
// back to its pool before pack had copied out of it, so two packs at once could
// compress into one buffer: with eight files at once the encode failed "s2: corrupt
// input" in 2 of 3 runs, and an archiver whose encode fails stops the live daemon.
func TestFilesPackedAtOnceKeepTheirPayloads(t *testing.T) {
	t.Parallel()
	// Each file about 14 MiB of payload: a dozen packed chunks, so that packs of the
	// eight overlap often enough to corrupt one in most runs of the build before. Under
	// -short, 4 MiB (4 chunks): the scratch check below fails the build before every
	// time on its own, and make test packs the full size.
	const files = 8
	rows := 30_000
	if testing.Short() {
		rows = 8_000
	}
	var wg sync.WaitGroup
	errs := make([]error, files)
	for f := range files {
		wg.Go(func() {
			b := newBatch(int32(f), 0, time.Time{}, time.Now())
			defer b.release()
			want := make([][]byte, rows)
			for i := range want {
				want[i] = fmt.Appendf(nil, `{"file":%d,"row":%d,"pad":"%s"}`, f, i, bytes.Repeat([]byte{byte('a' + (i*7+f)%26)}, 400+i%97))
				b.add(int64(i), 0, 0, "c", want[i], true)
			}
			b.pack(len(b.chunks) - 1)
			dest := make([]int32, rows)
			total := int32(0)
			for i, w := range want {
				dest[i] = total
				total += int32(len(w))
			}
			got := make([]byte, total)
			if err := b.scatterPayloads(got, dest); err != nil {
				errs[f] = err
				return
			}
			for i, w := range want {
				if !bytes.Equal(got[dest[i]:dest[i]+int32(len(w))], w) {
					errs[f] = fmt.Errorf("row %d: payload changed", i)
					return
				}
			}
			if len(b.slabs) == 0 {
				errs[f] = fmt.Errorf("no chunk was packed: the test shows nothing")
			}
		})
	}
	wg.Wait()
	// A scratch is its taker's until put back: one taken meanwhile is another buffer.
	s1, s2 := packScratch(1<<10), packScratch(1<<10)
	if &(*s1)[0] == &(*s2)[0] {
		t.Error("two pack scratches taken at once are one buffer")
	}
	packBuf.Put(s1)
	packBuf.Put(s2)
	for f, err := range errs {
		if err != nil {
			t.Errorf("file %d: %v", f, err)
		}
	}
}
