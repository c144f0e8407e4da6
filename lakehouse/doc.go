// Package lakehouse archives every event of the events topic, exactly once, as Parquet
// files in object storage, and serves that archive to the backfill stage.
//
// Contract:
//   - What is archived: exactly the records the live stage evaluates. A record it
//     dead-letters (internal/verdict.Accept: no key, a key that is not UTF-8, a value
//     that is not one JSON document or nests too deep) gets no row; its offset is still
//     covered by a file's [start, end] range, so ranges stay contiguous, and the
//     watermark passes it with the next archived record. Files written so are marked
//     Checked in the manifest (files of older archivers are not, and hold everything).
//     Such records (and transaction markers, aborted records) read after a partition's
//     last file and left RollAge with no file open — a quiet partition — are recorded
//     in the manifest without a file (PartitionState.EmptyAfter; Through is the last
//     offset the lake accounts for): the archiver resumes past them, and readers take
//     only what lies beyond from Kafka, whose retention may pass them meanwhile.
//   - Layout: data/p=PPPP/h=YYYY-MM-DDTHH/<start>-<end>-<id>.parquet. A file holds the
//     records of one Kafka partition whose offsets are in [start, end], rows sorted by
//     customer then offset; columns partition, offset, event_time, ingest_time,
//     customer, payload (the JSON text); zstd, row groups with statistics.
//   - Manifest: manifest/v<version>.json objects; the highest readable version is the
//     truth. A file is visible only once a manifest lists it: files are written first,
//     then version N+1 is claimed with Bucket.PutIfAbsent, so of two writers exactly one
//     wins and the other rebases or gives way.
//   - Exactly once: per partition the manifest's files cover contiguous offset ranges
//     ending at the watermark. The archiver resumes each partition at watermark+1
//     (reading from Through+1) and refuses to commit a file that does not start exactly
//     there; Kafka offsets are
//     committed only after the manifest, for monitoring, never for resuming.
//   - Fed archiving (ArchiverConfig.Feed): a consumer in the process owns the
//     partitions and hands over its fetches; the archiver takes a fetch only when the
//     consumer's position before it leaves no hole after the archive (a position at
//     the partition's start, FromLogStart, leaves none after any archive), and reads
//     from Kafka itself what the feed leaves out, so a dropped batch costs a second
//     fetch, never a record.
//   - Compaction and retention replace or drop files in one manifest commit and delete
//     the objects later (DeleteDelay), so readers holding a snapshot keep working.
//   - Lag: hindsight_archive_lag_offsets and hindsight_archive_lag_seconds, per
//     partition of the topic whether this process owns it or not, measured every
//     LagInterval against the newest manifest. A killed archiver's partitions wait at
//     most SessionTimeout (InstanceID: not at all) before another archiver resumes them.
//
// It depends on jsonpath and internal/verdict (the acceptance check it shares with the
// live stage), and on the internal helpers fetcherr, kafkatime, limitmetric and memlimit.
package lakehouse
