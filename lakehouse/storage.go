package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/hindsightdev/hindsight/internal/limitmetric"
)

// StorageConfig is how a process reaches the object storage of its buckets (OpenBucket):
// the bound on each request, and where reaching it shows. The zero value takes the
// defaults.
type StorageConfig struct {
	// Timeout bounds how long a request to an s3:// bucket may make no progress: from
	// its start to its response's headers, with no byte of its body taken for sending
	// for that long, and then each read of the response's body. A request past it is
	// abandoned with ErrStorageTimeout, which is retried as any outage is (the S3
	// client tries three times; the archiver, compaction and the snapshot store then
	// retry with backoff, a hand-off's backfill job fails and is retried). It bounds
	// idleness, not a transfer: a large upload or download runs as long as its bytes
	// move. Without it, a store that takes a request and never answers (a hung node, a
	// half-open connection) held its caller for ever. file:// and mem:// buckets are
	// not bounded. Default DefaultStorageTimeout; negative: none.
	Timeout time.Duration
	// Limits, when set, counts each request abandoned in
	// hindsight_limit_reached_total{name="storage_timeout_seconds"} (LimitStorageTimeout).
	Limits *limitmetric.Limits
	// Metrics, when set, counts each failed attempt of an s3:// bucket's requests
	// (hindsight_lake_storage_attempt_errors_total), those the S3 client retried too.
	Metrics *StorageMetrics
	// Logger logs each request abandoned (and, for OpenLake, the lake's reads).
	// Default slog.Default().
	Logger *slog.Logger
}

// DefaultStorageTimeout is StorageConfig.Timeout's default, and --storage-timeout's.
const DefaultStorageTimeout = time.Minute

// LimitStorageTimeout is StorageConfig.Timeout's name in hindsight_limit (seconds, 0:
// none) and hindsight_limit_reached_total (requests abandoned).
const LimitStorageTimeout = "storage_timeout_seconds"

// ErrStorageTimeout is the error of a request to object storage abandoned for making no
// progress for StorageConfig.Timeout. Retrying it is what it is for: it is no answer
// of the store's.
var ErrStorageTimeout = errors.New("object storage made no progress")

func (s StorageConfig) timeout() time.Duration {
	if s.Timeout == 0 {
		return DefaultStorageTimeout
	}
	return max(s.Timeout, 0)
}

func (s StorageConfig) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// ShowLimit shows the timeout in s.Limits (seconds, 0: none), its reaches counted from 0.
func (s StorageConfig) ShowLimit() {
	if s.Limits != nil {
		s.Limits.ShowCounted(LimitStorageTimeout, s.timeout().Seconds())
	}
}

// openS3 opens an s3:// bucket as gocloud's s3blob URL opener does, with the same query
// parameters (its own, handled here as it does, and gocloud.dev/aws's), but with an
// HTTP client that abandons a request making no progress for s's timeout (stallBound):
// the opener takes no HTTP client.
// s3Options are the query options an s3:// bucket URL takes: openS3's own, then those
// gocloud's V2ConfigFromURLParams reads (awssdk it ignores). CheckBucketURL refuses any
// other (bucketOptions).
var s3Options = []string{
	"ssetype", "kmskeyid", "accelerate", "disable_https", "use_path_style", "s3ForcePathStyle",
	"region", "endpoint", "profile", "hostname_immutable", "dualstack", "fips", "rate_limiter_capacity",
	"anonymous", "role", "request_checksum_calculation", "response_checksum_validation", "awssdk",
}

func openS3(ctx context.Context, u *url.URL, s StorageConfig) (*blob.Bucket, error) {
	q := u.Query()
	take := func(key string) (string, bool) {
		v := q.Get(key)
		q.Del(key)
		return v, v != ""
	}
	takeBool := func(key string, set func(*s3.Options, bool)) (func(*s3.Options), error) {
		v, ok := take(key)
		if !ok {
			return nil, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("invalid value for %q: %w", key, err)
		}
		return func(o *s3.Options) { set(o, b) }, nil
	}
	var opts s3blob.Options
	if v, ok := take("ssetype"); ok {
		for _, t := range s3types.ServerSideEncryption("").Values() {
			if strings.EqualFold(string(t), v) {
				opts.EncryptionType = t
			}
		}
		if opts.EncryptionType == "" {
			return nil, fmt.Errorf("%q is not a valid value for %q", v, "ssetype")
		}
	}
	opts.KMSEncryptionID, _ = take("kmskeyid")
	var s3opts []func(*s3.Options)
	for _, p := range []struct {
		key string
		set func(*s3.Options, bool)
	}{
		{"accelerate", func(o *s3.Options, b bool) { o.UseAccelerate = b }},
		{"disable_https", func(o *s3.Options, b bool) { o.EndpointOptions.DisableHTTPS = b }},
		{"use_path_style", func(o *s3.Options, b bool) { o.UsePathStyle = b }},
		{"s3ForcePathStyle", func(o *s3.Options, b bool) { o.UsePathStyle = b }}, // gocloud's, from SDK v1
	} {
		opt, err := takeBool(p.key, p.set)
		if err != nil {
			return nil, err
		}
		if opt != nil {
			s3opts = append(s3opts, opt)
		}
	}
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, err
	}
	next := cfg.HTTPClient // set when the environment names a CA bundle
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	if d := s.timeout(); d > 0 {
		log := s.logger()
		next = &stallBound{next: next, d: d, onStall: func(req *http.Request, answering bool) {
			if s.Limits != nil {
				s.Limits.Reached(LimitStorageTimeout)
			}
			log.Warn("object storage made no progress on a request; abandoned, to be retried", "method", req.Method, "path", req.URL.Path,
				"waiting_for", waitingFor(answering), "timeout", d, "limit", LimitStorageTimeout)
		}}
	}
	if s.Metrics != nil {
		next = &attemptCounter{next: next, m: s.Metrics}
	}
	cfg.HTTPClient = next
	// As gocloud's opener: the upload manager does not take the checksum setting from
	// the client.
	opts.RequestChecksumCalculation = cfg.RequestChecksumCalculation
	return s3blob.OpenBucket(ctx, s3.NewFromConfig(cfg, s3opts...), u.Host, &opts)
}

func waitingFor(answering bool) string {
	if answering {
		return "the answer's body"
	}
	return "the answer"
}

// stallBound is an HTTP client that abandons a request making no progress for d: from
// its start until its response's headers, no byte of its body taken for sending for d
// (its connection, its sending or the store's answer stuck), or, after them, one read
// of the response's body waiting d. The time its own body's reader takes, or a reader
// of the response spends between reads, is not the store's and does not count.
// Abandoned, the request's context is cancelled, which closes its connection, and
// the error says so (stallError, ErrStorageTimeout): the S3 client retries it as a
// timeout.
type stallBound struct {
	next    aws.HTTPClient
	d       time.Duration
	onStall func(req *http.Request, answering bool)
}

func (c *stallBound) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &stallWatch{d: c.d}
	w.abandon = func(answering bool) {
		// Counted before the request is let go: whoever sees its error sees it counted.
		c.onStall(req, answering)
		cancel(ErrStorageTimeout)
	}
	w.start()
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &sendBody{ReadCloser: req.Body, w: w}
		if get := req.GetBody; get != nil {
			req.GetBody = func() (io.ReadCloser, error) {
				b, err := get()
				if err != nil || b == nil || b == http.NoBody {
					return b, err
				}
				return &sendBody{ReadCloser: b, w: w}, nil
			}
		}
	}
	resp, err := c.next.Do(req)
	if err != nil {
		fired := w.stop()
		cancel(nil)
		if fired {
			return nil, w.err(req)
		}
		return nil, err
	}
	w.answered()
	resp.Body = &answerBody{rc: resp.Body, w: w, req: req, cancel: cancel}
	return resp, nil
}

// stallWatch times one request's lack of progress (stallBound).
type stallWatch struct {
	d       time.Duration
	abandon func(answering bool)

	mu        sync.Mutex
	t         *time.Timer
	due       time.Time // abandoned then, unless it moves on
	armed     bool      // the request waits on the store
	fired     bool      // abandoned
	answering bool      // its response's headers came: only reads of its body are timed
}

func (w *stallWatch) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.due, w.armed = time.Now().Add(w.d), true
	w.t = time.AfterFunc(w.d, w.check)
}

// check is the timer's: abandon the request if it is still waiting, and has been for d.
func (w *stallWatch) check() {
	w.mu.Lock()
	if !w.armed || w.fired {
		w.mu.Unlock()
		return
	}
	if rest := time.Until(w.due); rest > 0 { // it moved on since the timer was set
		w.t.Reset(rest)
		w.mu.Unlock()
		return
	}
	w.fired, w.armed = true, false
	answering := w.answering
	w.mu.Unlock()
	w.abandon(answering)
}

// wait starts (or goes on) waiting on the store, from now; in the sending phase only
// unless answering says otherwise.
func (w *stallWatch) wait(answering bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired || w.answering != answering {
		return
	}
	w.due = time.Now().Add(w.d)
	if !w.armed {
		w.armed = true
		w.t.Reset(w.d)
	}
}

// pause stops waiting on the store (in the phase answering says) until the next wait.
func (w *stallWatch) pause(answering bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.answering == answering {
		w.armed = false
		w.t.Stop()
	}
}

// answered marks the response's headers come.
func (w *stallWatch) answered() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.answering, w.armed = true, false
	w.t.Stop()
}

// stop ends the watch, saying whether the request was abandoned.
func (w *stallWatch) stop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	w.t.Stop()
	return w.fired
}

func (w *stallWatch) hasFired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired
}

// err is the error of req abandoned.
func (w *stallWatch) err(req *http.Request) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &stallError{method: req.Method, path: req.URL.Path, d: w.d, answering: w.answering}
}

// stallError is ErrStorageTimeout for one request. Its Timeout makes the S3 client's
// retryer take it for a timeout, which it retries.
type stallError struct {
	method, path string
	d            time.Duration
	answering    bool
}

func (e *stallError) Error() string {
	return fmt.Sprintf("%s %s: abandoned after waiting %v for %s: %v (limit %s, --storage-timeout)",
		e.method, e.path, e.d, waitingFor(e.answering), ErrStorageTimeout, LimitStorageTimeout)
}

func (e *stallError) Unwrap() error { return ErrStorageTimeout }

// Timeout says it is a timeout.
func (e *stallError) Timeout() bool { return true }

// sendBody is a request's body: each byte the client takes of it for sending is
// progress, and the time its reader takes is not the store's.
type sendBody struct {
	io.ReadCloser
	w *stallWatch
}

func (b *sendBody) Read(p []byte) (int, error) {
	b.w.pause(false)
	n, err := b.ReadCloser.Read(p)
	b.w.wait(false)
	return n, err
}

// answerBody is a response's body: each read waits on the store, the time between
// reads does not.
type answerBody struct {
	rc     io.ReadCloser
	w      *stallWatch
	req    *http.Request
	cancel context.CancelCauseFunc
}

func (b *answerBody) Read(p []byte) (int, error) {
	b.w.wait(true)
	n, err := b.rc.Read(p)
	b.w.pause(true)
	if err != nil && err != io.EOF && b.w.hasFired() {
		return n, b.w.err(b.req)
	}
	return n, err
}

func (b *answerBody) Close() error {
	b.w.stop()
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
