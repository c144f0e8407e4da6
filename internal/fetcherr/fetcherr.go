// Package fetcherr tells the Kafka fetch errors that retrying cannot cure from those it
// can, for every consumer of the stages (events, controls, alerts, the archiver's).
// Each used to log every fetch error and poll again; on an error that lasts (a topic
// deleted and made again while it is read, a permission revoked) it spun for ever,
// thousands of warnings a second, reading nothing and saying so nowhere else.
package fetcherr

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrTopicRecreated is the error of a consumer whose topic was deleted, and perhaps
// made again, while it read it: the brokers know the name by another id, whose log
// starts again at offset 0. The client keeps the old id, so nothing more is read;
// offsets recorded against the old log (a state snapshot, the lake's watermarks,
// committed group offsets) are not positions in the new one.
var ErrTopicRecreated = errors.New("the topic was deleted, and perhaps made again, while it was read")

// cannotRetry are the errors retrying cannot cure: credentials or permissions the
// brokers refuse, a group session timeout outside the range they allow, and a static
// member fenced by another process with its instance id (every JoinGroup fails alike:
// the member never joins, and reads nothing).
var cannotRetry = []error{kerr.SaslAuthenticationFailed, kerr.TopicAuthorizationFailed,
	kerr.GroupAuthorizationFailed, kerr.ClusterAuthorizationFailed, kerr.UnsupportedSaslMechanism,
	kerr.InvalidSessionTimeout, kerr.FencedInstanceID}

// Fatal is the error a consumer stops with for a fetch error err of topic's partition,
// or nil if retrying may cure err.
func Fatal(topic string, partition int32, err error) error {
	if errors.Is(err, kerr.UnknownTopicID) {
		// franz-go reports it after five fetches in a row fail with it (a new
		// partition's brief one is absorbed), and never adopts the new id.
		return fmt.Errorf("consuming %s (partition %d): %w (%w): restart to read it anew", topic, partition, ErrTopicRecreated, err)
	}
	if errors.Is(err, kerr.FencedInstanceID) {
		return fmt.Errorf("in the consumer group: %w: another process joined the group with this process's instance id (--instance-id); each process needs its own", err)
	}
	if errors.Is(err, kerr.InvalidSessionTimeout) {
		return fmt.Errorf("joining the consumer group: %w: the brokers allow a session timeout (--session-timeout) between their group.min.session.timeout.ms and group.max.session.timeout.ms (6 s and 30 min by default)", err)
	}
	for _, e := range cannotRetry {
		if errors.Is(err, e) {
			return fmt.Errorf("consuming %s (partition %d): %w", topic, partition, err)
		}
	}
	return nil
}

// DefaultMaxDecompressedBatchBytes bounds one record batch once decompressed
// (franz-go's kgo.MaxDecompressBatchBytes, whose own default is 1 GiB) for every reader
// of the events topic, the live consumer (ingest) and the archiver (lakehouse): a
// producer's batch is at most about a megabyte as stored (the broker's
// message.max.bytes), which JSON events compress into from ten or twenty; 64 MiB is
// far above that, and a sixteenth of what franz-go allows. Defined here, which both
// import, so that `hindsight live` and `hindsight archive` default alike.
const DefaultMaxDecompressedBatchBytes = 64 << 20

// LimitDecompressedBatch names that bound as flags (with '-' for '_') and metrics
// spell it.
const LimitDecompressedBatch = "max_decompressed_batch_bytes"
