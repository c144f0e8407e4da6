package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kfake"
)

// brokerLog puts kfake's log on the daemon's. kfake says at warn level when it
// truncates a corrupt segment as it loads the data directory (the records from there
// on are gone) and when it fails to write a batch (a full disk: the producer sees only
// UNKNOWN_SERVER_ERROR); without a logger it said so to nobody. Those are logged as
// errors, and counted (Embedded.StorageErrors). Its info level is chatter about every
// group join and unparsable request, logged here at debug; its debug level (each
// reconciliation of a consumer group) below debug, never shown; its warnings about
// clients' group protocol (a late heartbeat, a stale commit), which the clients
// handle, at info.
type brokerLog struct {
	log *slog.Logger
	// corrupt counts truncations of corrupt data found on disk, writeFailed the
	// writes that failed.
	corrupt, writeFailed atomic.Int64
}

// Kinds of Embedded.StorageErrors.
const (
	// StorageCorrupt is data found corrupt in the data directory and dropped (a
	// segment truncated at its first bad record batch, a corrupt entry skipped), or a
	// torn write repaired before the broker loaded the directory (repairDataDir).
	StorageCorrupt = "corrupt"
	// StorageWriteFailed is a write to the data directory that failed (a batch not
	// persisted: its producer got an error).
	StorageWriteFailed = "write_failed"
)

// levelBelowDebug is the level kfake's debug lines are logged at: below any the
// daemon's --log-level shows.
const levelBelowDebug = slog.LevelDebug - 4

// clientChatter are formats of kfake's warnings about a client's group protocol,
// which the client itself handles: logged at info.
var clientChatter = []string{"consumerHeartbeatLate", "OffsetCommit STALE"}

// kind is what a kfake log line's format says of the data directory: StorageCorrupt,
// StorageWriteFailed, or "".
func storageKind(format string) string {
	switch {
	case strings.Contains(format, "corrupt"):
		return StorageCorrupt
	case strings.HasPrefix(format, "persist"), strings.HasPrefix(format, "endTx: failed to persist"),
		strings.HasPrefix(format, "save session state"), strings.HasPrefix(format, "rebuildSegments"),
		strings.Contains(format, "truncate:"), strings.Contains(format, "open for truncate"):
		return StorageWriteFailed
	}
	return ""
}

func (b *brokerLog) Logf(level kfake.LogLevel, format string, args ...any) {
	kind := storageKind(format)
	var l slog.Level
	switch {
	case kind != "":
		l = slog.LevelError
		if kind == StorageCorrupt {
			b.corrupt.Add(1)
		} else {
			b.writeFailed.Add(1)
		}
	case level == kfake.LogLevelError:
		l = slog.LevelError
	case level == kfake.LogLevelWarn:
		l = slog.LevelWarn
		for _, c := range clientChatter {
			if strings.HasPrefix(format, c) {
				l = slog.LevelInfo
			}
		}
	case level == kfake.LogLevelInfo:
		l = slog.LevelDebug
	default:
		l = levelBelowDebug
	}
	ctx := context.Background()
	if !b.log.Enabled(ctx, l) {
		return // kfake formats nothing itself: its debug lines cost nothing here
	}
	attrs := []any{"said", fmt.Sprintf(format, args...)}
	msg := "embedded broker"
	switch kind {
	case StorageCorrupt:
		msg = "the embedded broker found corrupt data in its data directory and dropped it: the records from there on are lost"
	case StorageWriteFailed:
		msg = "the embedded broker could not write to its data directory: what it did not write is lost, or refused to its producer"
	}
	if kind != "" {
		attrs = append(attrs, "kind", kind)
	}
	b.log.Log(ctx, l, msg, attrs...)
}
