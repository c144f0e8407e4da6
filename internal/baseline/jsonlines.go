package baseline

import (
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// ZstdJSONLines is what an archiver without Parquet would write: each partition's
// values as JSON lines, one zstd frame per partition at the fastest level. Partitions
// are encoded concurrently, at most GOMAXPROCS at once. It returns the compressed bytes
// of each partition, in order.
func ZstdJSONLines(partitions [][][]byte) [][]byte {
	out := make([][]byte, len(partitions))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for p, values := range partitions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			size := 0
			for _, v := range values {
				size += len(v) + 1
			}
			lines := make([]byte, 0, size)
			for _, v := range values {
				lines = append(append(lines, v...), '\n')
			}
			// Options are constants: NewWriter cannot fail with them.
			enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
			out[p] = enc.EncodeAll(lines, nil)
		})
	}
	wg.Wait()
	return out
}
