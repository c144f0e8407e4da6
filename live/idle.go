package live

import "time"

// evaluatorIdleAfter is how long the evaluator must have had no batch for the
// embedded archiver to encode a file on the core kept for it (ArchiveFlushConcurrency
// leaves one): long enough that a steady stream, whose batches come every few
// milliseconds, never looks idle.
const evaluatorIdleAfter = 250 * time.Millisecond

// batchDone ends what HandleBatch began (batchesRunning) and stamps lastBatch.
func (d *Daemon) batchDone() {
	d.lastBatch.Store(int64(time.Since(d.born)))
	d.batchesRunning.Add(-1)
}

// spareCore is the embedded archiver's lakehouse.ArchiverConfig.SpareCore: the
// evaluator is idle, and the process is not near its memory limit (a second file
// encoded at once takes a file's worth of buffers).
func (d *Daemon) spareCore() bool {
	return d.evaluatorIdle() && (d.mem == nil || !d.mem.Tight())
}

// evaluatorIdle reports that no batch is being handled and none was for
// evaluatorIdleAfter.
func (d *Daemon) evaluatorIdle() bool {
	return d.batchesRunning.Load() == 0 && time.Since(d.born)-time.Duration(d.lastBatch.Load()) >= evaluatorIdleAfter
}
