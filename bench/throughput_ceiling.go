package bench

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// An archiving reader of the events topic cannot go faster than this machine can both
// read the records and compress their JSON: per event, the floor consumer's CPU, the
// broker's CPU serving it, and zstd's CPU over the event's bytes at the archive's
// level, all on the machine's cores. archiveCeiling measures the last of these in the
// run, so that the archive's ratios can be read against what is reachable here.

// ceilingSampleBytes is how much of the workload's JSON compressZstd compresses: enough
// pages that one slow slice of a shared machine does not decide the figure.
const ceilingSampleBytes = 64 << 20

// parquetPageBytes is the size of the pages compressZstd compresses one by one, as
// Parquet compresses a column page (arrow's default data page size).
const parquetPageBytes = 1 << 20

// ZstdSample is the CPU one goroutine spent compressing a sample of the workload's
// JSON with the archive's codec and level, in Parquet-sized pages, and what it
// compressed.
type ZstdSample struct {
	Events int           `json:"events"`
	Bytes  int64         `json:"bytes"`
	CPU    time.Duration `json:"cpu"`
}

// perEvent is the CPU seconds per event of the sample.
func (z ZstdSample) perEvent() float64 {
	if z.Events == 0 {
		return 0
	}
	return z.CPU.Seconds() / float64(z.Events)
}

// compressZstd compresses about ceilingSampleBytes of the workload's events (the same
// seed as the preloaded ones) as the archive's payload column is compressed: values
// with their length prefixes (Parquet's plain encoding of byte arrays) in pages of
// parquetPageBytes, with the zstd codec Parquet uses at the archive's default level.
// Only the compression is timed, in this process's CPU, with nothing else running.
func compressZstd(w Workload) (ZstdSample, error) {
	var ac lakehouse.ArchiverConfig
	ac.EnsureDefaults()
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return ZstdSample{}, fmt.Errorf("bench: the archive's codec: %w", err)
	}
	gen := w.generator()
	var pages [][]byte
	var s ZstdSample
	page := make([]byte, 0, parquetPageBytes+64<<10)
	for s.Bytes < ceilingSampleBytes {
		ev := gen.Next()
		page = binary.LittleEndian.AppendUint32(page, uint32(len(ev.JSON)))
		page = append(page, ev.JSON...)
		s.Events++
		s.Bytes += int64(len(ev.JSON))
		if len(page) >= parquetPageBytes {
			pages = append(pages, page)
			page = make([]byte, 0, parquetPageBytes+64<<10)
		}
	}
	pages = append(pages, page)
	dst := make([]byte, codec.CompressBound(parquetPageBytes+64<<10))
	var stored int
	runtime.GC()
	cpu0 := selfCPU()
	for _, p := range pages {
		stored += len(codec.EncodeLevel(dst, p, ac.CompressionLevel))
	}
	s.CPU = selfCPU() - cpu0
	if stored == 0 || s.CPU <= 0 {
		return s, fmt.Errorf("bench: compressing %d bytes with zstd took %v and stored %d bytes", s.Bytes, s.CPU, stored)
	}
	return s, nil
}

// archiveCeiling is the most events/s an archiving reader can reach on cores cores:
// cores over the floor's CPU, the broker's and zstd's per event. Zero when a figure is
// missing.
func archiveCeiling(floor ThroughputRun, events int, z ZstdSample, cores int) float64 {
	if events == 0 || floor.CPU == 0 || z.Events == 0 {
		return 0
	}
	perEvent := (floor.CPU+floor.BrokerCPU).Seconds()/float64(events) + z.perEvent()
	return float64(cores) / perEvent
}
