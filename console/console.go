// Package console is the rule console that `hindsight live` serves: a web page, and the
// HTTP JSON API behind every action on it, for people who write alert rules without
// writing code.
//
// Contract:
//   - The page (GET /, assets under /console/, embedded; nothing from a CDN) lists the
//     active rules with their status (backfilling with progress, live, error) and counts
//     per customer, the controls the daemon rejected, and the recent alerts, all updated
//     live over server-sent events (GET /v1/console/stream). For a rule kept per group
//     and window (not rule.Rule.Plain), a customer's count is its largest open window's,
//     and the page opens, on request, the open windows per customer and group, a page
//     of customers at a time (GET /v1/console/windows).
//   - The rule editor validates a draft as the user types (POST /v1/console/validate,
//     positioned problems from the rule engine), previews it over a sample of recent
//     events from the lake (POST /v1/console/preview: matches and the customers that
//     would alert; for a rule that is not a plain count, the windows that would have
//     fired, found by the live evaluator's code, window.Replay), and saves it by publishing the control record that `hindsight rules
//     apply` publishes (POST /v1/console/rules), reporting the daemon's status for it:
//     ok, invalid, stale, or pending when no status came in time.
//   - Every action is an API call; the page uses nothing else. API.md documents each
//     endpoint with its request and response JSON: GET /v1/console/info, /rules,
//     /counts, /windows, /alerts and /stream (server-sent events); POST /v1/console/validate and
//     /preview; POST and DELETE /v1/console/rules (writes).
//   - Writes (saving and deleting rules) follow WritePolicy: a configured token is
//     required as "Authorization: Bearer <token>"; without one, writes are allowed only
//     when the daemon's HTTP listener is a loopback address. Reads follow ReadPolicy:
//     open, unless Config.ProtectReads, when they need the token too (the page, its
//     assets and /v1/console/info stay open, so that the page can ask for it).
//   - Bounds: at most MaxStreams streams, request bodies of at most MaxBodyBytes, and a
//     preview reads at most PreviewMaxScan events for at most PreviewTimeout and returns
//     at most PreviewMaxBytes of examples (its answer says when it stopped at a bound);
//     previews and counts and windows listings run only when Admit lets them.
//   - Alerts come from the alerts topic, read with the console's own Kafka client (no
//     consumer group): the last RecentAlerts records at first use, then followed; they
//     are deduplicated by alert_id within that window, so the page shows the alerts of
//     every instance, not only this one's.
//   - The console never imports the daemon: what it needs from it is the Backend
//     interface. It stops its streams and its Kafka client when the http.Server serving
//     it shuts down (or on Close).
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/httpguard"
	"github.com/hindsightdev/hindsight/internal/httpjson"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

// Backend is what the console needs from the daemon it runs in. Implementations must be
// safe for concurrent use; every method is called from HTTP handlers.
type Backend interface {
	// Rules lists the active rules with their status, and the rejected controls.
	Rules() contract.RuleList
	// Counts returns, per active rule, how many customers it counted and the top
	// customers by count (at most top of them), over the partitions owned here.
	Counts(top int) map[rule.Key]contract.CountSummary
	// CountsPage returns one page of rule k's counts in customer order, over the
	// partitions owned here: at most limit customers whose names sort after after (""
	// from the first), each with its open windows (contract.CountView.Windows) for a
	// rule kept per group and window. next is the last customer listed when more follow,
	// "" on the last page; ok is false when k is not an active rule.
	CountsPage(k rule.Key, after string, limit int) (page []contract.CountView, next string, ok bool)
	// ListenAddr is the address of the HTTP listener serving the console: it decides
	// whether writes without a token are allowed (see WritePolicy).
	ListenAddr() string
	// Kafka says how to reach the brokers, and the topics.
	Kafka() (ingest.KafkaConfig, ingest.Topics)
	// LakeURL is the bucket URL of the event archive that previews sample.
	LakeURL() string
	// Deliveries lists the latest alerts' delivery states, newest first (nil without
	// a notify stage here); Destinations and Mutes list those the controls define.
	Deliveries() []contract.AlertDelivery
	Destinations() []*rule.Destination
	Mutes() []*rule.Mute
	// Retired is the version rule k had when it was last deleted, if the daemon
	// remembers it (controls.Registry.Retired): a rule made again under k gets a newer
	// one.
	Retired(k rule.Key) (int64, bool)
}

// Config configures the console. Call EnsureDefaults, then Validate (New does both).
type Config struct {
	// Backend is the daemon. Required.
	Backend Backend
	// APIToken, when set, is the bearer token every write must carry. Default "": writes
	// are allowed without a token only on a loopback listener (see WritePolicy).
	APIToken string
	// Logger receives operational logs. Default slog.Default().
	Logger *slog.Logger
	// Storage is how previews reach the lake's object storage (its requests' bound,
	// where those abandoned count). Default: lakehouse.StorageConfig's, logging to
	// Logger.
	Storage lakehouse.StorageConfig
	// RecentAlerts is how many recent alerts the console keeps and reads back from the
	// alerts topic at first use; each one dropped for a newer reaches LimitRecentAlerts.
	// Default DefaultRecentAlerts, at most MaxRecentAlerts.
	RecentAlerts int
	// PreviewSample is how many of the most recent archived events a preview evaluates
	// when the request does not say. Default DefaultPreviewSample; at most
	// PreviewMaxSample.
	PreviewSample int
	// PreviewMaxSample is the largest sample a preview request may ask for (400 naming
	// LimitPreviewSample beyond). Default DefaultPreviewMaxSample.
	PreviewMaxSample int
	// PreviewTimeout bounds one preview. Default DefaultPreviewTimeout.
	PreviewTimeout time.Duration
	// StatusWait is how long a save waits for the daemon's status of the published
	// control. Default 10s.
	StatusWait time.Duration
	// AnswerWithin bounds a write (save, delete, mute): publishing the control and
	// waiting for its status end a little before it, whatever wait_ms asked for, so
	// that the answer goes out. The daemon sets its HTTP write timeout, past which an
	// answer is cut off. Default 1m.
	AnswerWithin time.Duration
	// RefreshInterval is how often a stream checks the rules for changes. Default 1s.
	RefreshInterval time.Duration
	// TopCustomers is how many customers per rule the rules list shows. Default
	// DefaultTopCustomers, at most CountsMaxTop.
	TopCustomers int
	// CountsMaxTop is the largest limit a counts listing (GET /v1/console/counts) may
	// ask for (400 naming LimitCountsMaxTop beyond): its walk keeps that many customers
	// per rule. Default DefaultCountsMaxTop.
	CountsMaxTop int
	// WindowsPageSize is how many customers a windows page (GET /v1/console/windows)
	// lists when the request sets no limit; WindowsMaxPageSize the largest limit it may
	// ask for (400 naming LimitWindowsMaxPage beyond). Each customer brings up to
	// contract.MaxWindowsPerCount windows, so these pages are far smaller than the
	// daemon's counts pages. Default DefaultWindowsPageSize and DefaultWindowsMaxPageSize.
	WindowsPageSize, WindowsMaxPageSize int
	// MutesPageSize is how many mutes a mutes page (GET /v1/console/mutes) lists when
	// the request sets no limit; MutesMaxPageSize the largest limit it may ask for (400
	// naming LimitMutesMaxPage beyond). Default DefaultMutesPageSize and
	// DefaultMutesMaxPageSize.
	MutesPageSize, MutesMaxPageSize int

	// ProtectReads makes reads — every API call but GET /v1/console/info — need APIToken
	// too (see ReadPolicy); the page and its assets stay open, so that it can ask for the
	// token. Default false: reads are open. The daemon sets it when it has a token and
	// no --public-read.
	ProtectReads bool
	// MaxStreams caps the live streams (GET /v1/console/stream) open at once; one more is
	// answered 503 with Retry-After. Default 64.
	MaxStreams int
	// StreamWriteTimeout bounds each write to a stream. A stream lives for hours, so the
	// HTTP server's read and write deadlines, meant for one request and its answer, are
	// lifted for it and each write gets this one: a client that stops reading is dropped.
	// Default 1m.
	StreamWriteTimeout time.Duration
	// StreamBacklog is how many new alerts a stream may fall behind (its client reading
	// slower than alerts come) before it is ended; the page reconnects and gets the
	// recent alerts again. Default DefaultStreamBacklog, at most MaxStreamBacklog.
	StreamBacklog int
	// MaxBodyBytes caps a request body (413 beyond). Default 1 MiB: a rule is a few
	// kilobytes.
	MaxBodyBytes int64
	// PreviewMaxScan bounds the archived events one preview reads; the answer says when
	// it stopped there. Default DefaultPreviewMaxScan.
	PreviewMaxScan int
	// PreviewMaxBytes bounds the bytes of example events one preview returns; the answer
	// says when it stopped there. Default DefaultPreviewMaxBytes.
	PreviewMaxBytes int
	// Admit, when set, is asked before a heavy request (a preview, a counts or windows listing)
	// runs: it returns the function that ends it, or an error saying why it may not run
	// now, answered 503 with Retry-After. Default nil: no bound.
	Admit func() (done func(), err error)
	// WindowLimits bound a preview's state of a rule kept per group and window, as the
	// daemon's own bound its evaluator's (so that a preview degrades where live would),
	// and a backtest's running counts (MaxCounters, MaxCustomerIDBytes: the daemon's
	// --max-counters, --max-customer-ids-bytes).
	// Default window.DefaultLimits.
	WindowLimits window.Limits
	// MaxBacktestDays is the most days a backtest's per_day lists, the latest (the
	// daemon's --max-history-days, so that the chart of a backtest and of a hand-off's
	// history cut alike). Default 0: backtest's (contract.DefaultMaxDays); negative: no
	// bound.
	MaxBacktestDays int
	// LimitReached, when set, is told the name of each limit a request reached
	// (LimitStreams, LimitPreviewScan, LimitPreviewBytes, LimitPreviewTimeout,
	// LimitReadTimeout, LimitPreviewSample, LimitCountsMaxTop, LimitWindowsMaxPage), of
	// LimitRecentAlerts each time the recent alerts drop one, and of LimitStreamBacklog
	// each time a stream is ended for falling behind, for the daemon's metrics. Default
	// nil.
	LimitReached func(name string)
	// StreamsChanged, when set, is told each stream that opens (+1) and ends (-1), for
	// the daemon's gauge of open streams against MaxStreams; a stream refused at the
	// limit is neither. Default nil.
	StreamsChanged func(delta int)
}

// Names of the console's limits: those it reports to Config.LimitReached, and LimitBody
// (MaxBodyBytes), which the daemon counts as it cuts a body; the same names as the
// daemon's hindsight_limit metric.
const (
	LimitStreams        = "http_max_streams"
	LimitBody           = "http_max_body_bytes"
	LimitPreviewScan    = "preview_max_scan"
	LimitPreviewBytes   = "preview_max_bytes"
	LimitPreviewTimeout = "preview_timeout_seconds"
	LimitReadTimeout    = httpguard.LimitReadTimeout
	LimitRecentAlerts   = "console_recent_alerts"
	LimitStreamBacklog  = "console_stream_backlog"
	LimitPreviewSample  = "preview_max_sample"
	LimitCountsMaxTop   = "counts_max_page_size"
	LimitWindowsPage    = "console_windows_page_size"
	LimitWindowsMaxPage = "console_windows_max_page_size"
	LimitMutesPage      = "console_mutes_page_size"
	LimitMutesMaxPage   = "console_mutes_max_page_size"
	LimitTopCustomers   = "console_top_customers"
)

// The defaults of Config's bounds, which the daemon's flags show.
const (
	DefaultRecentAlerts       = 200
	DefaultPreviewSample      = 5000
	DefaultPreviewMaxSample   = 100_000
	DefaultPreviewTimeout     = 15 * time.Second
	DefaultPreviewMaxScan     = 1_000_000
	DefaultPreviewMaxBytes    = 1 << 20
	DefaultTopCustomers       = 5
	DefaultCountsMaxTop       = 10_000
	DefaultWindowsPageSize    = 20
	DefaultWindowsMaxPageSize = 1000
	DefaultMutesPageSize      = 100
	DefaultMutesMaxPageSize   = 1000
)

// MaxRecentAlerts bounds Config.RecentAlerts: every stream that opens, and every
// listing, is sent all of them.
const MaxRecentAlerts = 10_000

// DefaultStreamBacklog and MaxStreamBacklog are Config.StreamBacklog's default and
// bound (each stream holds room for that many alerts).
const (
	DefaultStreamBacklog = 256
	MaxStreamBacklog     = 65_536
)

// countsDefaultTop is how many customers a counts listing returns when the request
// sets no limit (at most Config.CountsMaxTop).
const countsDefaultTop = 100

// EnsureDefaults fills unset fields with their documented defaults.
func (c *Config) EnsureDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RecentAlerts <= 0 {
		c.RecentAlerts = DefaultRecentAlerts
	}
	if c.PreviewSample <= 0 {
		c.PreviewSample = DefaultPreviewSample
	}
	if c.PreviewMaxSample <= 0 {
		c.PreviewMaxSample = DefaultPreviewMaxSample
	}
	if c.PreviewTimeout <= 0 {
		c.PreviewTimeout = DefaultPreviewTimeout
	}
	if c.AnswerWithin <= 0 {
		c.AnswerWithin = time.Minute
	}
	if c.StatusWait <= 0 {
		c.StatusWait = 10 * time.Second
	}
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = time.Second
	}
	if c.TopCustomers <= 0 {
		c.TopCustomers = DefaultTopCustomers
	}
	if c.CountsMaxTop <= 0 {
		c.CountsMaxTop = DefaultCountsMaxTop
	}
	if c.WindowsPageSize <= 0 {
		c.WindowsPageSize = DefaultWindowsPageSize
	}
	if c.WindowsMaxPageSize <= 0 {
		c.WindowsMaxPageSize = DefaultWindowsMaxPageSize
	}
	if c.MutesPageSize <= 0 {
		c.MutesPageSize = DefaultMutesPageSize
	}
	if c.MutesMaxPageSize <= 0 {
		c.MutesMaxPageSize = DefaultMutesMaxPageSize
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = 64
	}
	if c.StreamWriteTimeout <= 0 {
		c.StreamWriteTimeout = time.Minute
	}
	if c.StreamBacklog <= 0 {
		c.StreamBacklog = DefaultStreamBacklog
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.PreviewMaxScan <= 0 {
		c.PreviewMaxScan = DefaultPreviewMaxScan
	}
	if c.PreviewMaxBytes <= 0 {
		c.PreviewMaxBytes = DefaultPreviewMaxBytes
	}
	c.WindowLimits = c.WindowLimits.EnsureDefaults()
}

// Validate reports configuration mistakes. Call EnsureDefaults first.
func (c *Config) Validate() error {
	var errs []error
	if c.Backend == nil {
		errs = append(errs, errors.New("no backend"))
	}
	if c.PreviewSample > c.PreviewMaxSample {
		errs = append(errs, fmt.Errorf("preview sample %d is above the largest sample a request may ask for, %d (--preview-sample, --preview-max-sample)", c.PreviewSample, c.PreviewMaxSample))
	}
	if c.RecentAlerts > MaxRecentAlerts {
		errs = append(errs, fmt.Errorf("recent alerts %d is above the maximum %d (--console-recent-alerts)", c.RecentAlerts, MaxRecentAlerts))
	}
	if c.StreamBacklog > MaxStreamBacklog {
		errs = append(errs, fmt.Errorf("stream backlog %d is above the maximum %d (--console-stream-backlog)", c.StreamBacklog, MaxStreamBacklog))
	}
	if c.TopCustomers > c.CountsMaxTop {
		errs = append(errs, fmt.Errorf("top customers %d is above the largest counts listing %d (--console-top-customers, --counts-max-page-size)", c.TopCustomers, c.CountsMaxTop))
	}
	if c.WindowsPageSize > c.WindowsMaxPageSize {
		errs = append(errs, fmt.Errorf("windows page size %d is above the maximum page size %d (--console-windows-page-size, --console-windows-max-page-size)", c.WindowsPageSize, c.WindowsMaxPageSize))
	}
	if c.MutesPageSize > c.MutesMaxPageSize {
		errs = append(errs, fmt.Errorf("mutes page size %d is above the maximum page size %d (--console-mutes-page-size, --console-mutes-max-page-size)", c.MutesPageSize, c.MutesMaxPageSize))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("console: invalid configuration: %w", err)
	}
	return nil
}

// PageCSP is the Content-Security-Policy of the page and its assets: scripts, styles,
// images and API calls from this origin only, no inline script or style, no plugins, and
// no framing (clickjacking). The page is written for it: its scripts build every element
// with the DOM, never from HTML text.
const PageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ErrClosed is returned by operations on a closed console.
var ErrClosed = errors.New("console: closed")

//go:embed static
var static embed.FS

// Console serves the page and the API. It is an http.Handler.
type Console struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	feed *alertFeed

	// stop is closed by Close: streams end, previews and saves fail with ErrClosed.
	stop     chan struct{}
	stopOnce sync.Once
	hookOnce sync.Once

	lakeMu sync.Mutex
	lake   *lakehouse.Lake

	rulesMu   sync.Mutex
	rulesData []byte // the latest rules answer sent to streams
	rulesAt   time.Time
	// countsMu holds the latest top counts (topCounts) and when they were walked.
	countsMu sync.Mutex
	counts   map[rule.Key]contract.CountSummary
	countsAt time.Time

	streams atomic.Int64 // open streams, at most cfg.MaxStreams
}

// New returns the console for cfg's daemon.
func New(cfg Config) (*Console, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, log: cfg.Logger, stop: make(chan struct{})}
	c.feed = newAlertFeed(cfg.RecentAlerts, cfg.StreamBacklog, cfg.Logger, func() (ingest.KafkaConfig, ingest.Topics) { return cfg.Backend.Kafka() },
		func() { c.reached(LimitRecentAlerts) }, func() { c.reached(LimitStreamBacklog) })
	assets, err := fs.Sub(static, "static")
	if err != nil {
		return nil, fmt.Errorf("console: embedded assets: %w", err)
	}
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", PageCSP)
		http.ServeFileFS(w, r, assets, "index.html")
	}
	files := http.StripPrefix("/console/", http.FileServerFS(assets))
	routes := []struct {
		pattern string
		handler http.HandlerFunc
	}{
		{"GET /{$}", page},
		{"GET /console/", func(w http.ResponseWriter, r *http.Request) {
			// Only the page's files: FileServer answered a missing one in text/plain and
			// listed a folder's files, against every error answer being JSON.
			name := strings.TrimPrefix(r.URL.Path, "/console/")
			if name == "" {
				page(w, r) // what the folder's index served
				return
			}
			if st, err := fs.Stat(assets, name); err != nil || st.IsDir() {
				httpjson.Error(w, http.StatusNotFound, "no console file "+r.URL.Path)
				return
			}
			w.Header().Set("Content-Security-Policy", PageCSP)
			files.ServeHTTP(w, r)
		}},
		// info stays open whatever the read policy: the page learns from it that it
		// must ask for a token.
		{"GET /v1/console/info", c.handleInfo},
		{"GET /v1/console/rules", c.read(c.heavy(c.handleRules))},
		{"GET /v1/console/counts", c.read(c.heavy(c.handleCounts))},
		{"GET /v1/console/windows", c.read(c.heavy(c.handleWindows))},
		{"GET /v1/console/alerts", c.read(c.handleAlerts)},
		{"GET /v1/console/stream", c.read(c.handleStream)},
		{"POST /v1/console/validate", c.read(c.handleValidate)},
		{"POST /v1/console/preview", c.read(c.sameOrigin(c.handlePreview))},
		{"POST /v1/console/backtest", c.read(c.sameOrigin(c.handleBacktest))},
		{"POST /v1/console/rules", c.write(c.handleSave)},
		{"DELETE /v1/console/rules", c.write(c.handleDelete)},
		{"GET /v1/console/deliveries", c.read(c.handleDeliveries)},
		{"GET /v1/console/destinations", c.read(c.handleDestinations)},
		{"GET /v1/console/mutes", c.read(c.handleMutes)},
		{"POST /v1/console/mutes", c.write(c.handleAddMute)},
		{"DELETE /v1/console/mutes", c.write(c.handleDeleteMute)},
	}
	allowed := map[string][]string{} // each route's path (its pattern's) to the methods it takes
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, rt.handler)
		method, path, _ := strings.Cut(rt.pattern, " ")
		allowed[path] = append(allowed[path], method)
		if method == http.MethodGet {
			allowed[path] = append(allowed[path], http.MethodHead) // net/http serves a HEAD by GET's handler
		}
	}
	// Without these, a path served with other methods, or no path at all, fell to
	// net/http's plain-text 404 and 405 (or to the catch-all's 404, which told the
	// caller the endpoint is not there when the method is what is wrong), against
	// the API's every error answer in JSON.
	for path, methods := range allowed {
		if strings.HasPrefix(path, "/v1/console/") {
			continue // the catch-all below answers them, by the path as asked
		}
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { methodNotAllowed(w, r, methods) })
	}
	mux.HandleFunc("/v1/console/", func(w http.ResponseWriter, r *http.Request) {
		if methods, ok := allowed[r.URL.Path]; ok {
			methodNotAllowed(w, r, methods)
			return
		}
		httpjson.Error(w, http.StatusNotFound, "no such console endpoint: "+r.Method+" "+r.URL.Path+" (see API.md)")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Error(w, http.StatusNotFound, "no endpoint "+r.URL.Path+" (live/API.md and console/API.md list them)")
	})
	c.mux = mux
	return c, nil
}

// ServeHTTP implements http.Handler. The first request ties the console's lifetime to
// the http.Server serving it: its Shutdown calls Close, so that open streams end and
// do not hold the shutdown up.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		c.hookOnce.Do(func() { srv.RegisterOnShutdown(c.Close) })
	}
	c.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), arrivedKey{}, time.Now())))
}

// methodNotAllowed answers a request for a path served with other methods, naming
// them.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, methods []string) {
	w.Header().Set("Allow", strings.Join(methods, ", "))
	httpjson.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s takes %s, not %s", r.URL.Path, strings.Join(methods, ", "), r.Method))
}

// arrivedKey keys the time a request's handling began, once its headers were read:
// where the server's write timeout starts, so that the bounds of answers start there
// too, not after a body that was slow to come.
type arrivedKey struct{}

// arrived is when the request of ctx began (see arrivedKey); now for a call that came
// through no request.
func arrived(ctx context.Context) time.Time {
	if t, ok := ctx.Value(arrivedKey{}).(time.Time); ok {
		return t
	}
	return time.Now()
}

// Close ends the streams, stops following the alerts topic and closes the lake. It is
// safe to call more than once; requests after it fail or end at once.
func (c *Console) Close() {
	c.stopOnce.Do(func() {
		close(c.stop)
		c.feed.close()
		c.lakeMu.Lock()
		if c.lake != nil {
			c.lake.Close()
			c.lake = nil
		}
		c.lakeMu.Unlock()
	})
}

func (c *Console) closed() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// openLake opens the lake at first use and keeps it.
func (c *Console) openLake(ctx context.Context) (*lakehouse.Lake, error) {
	c.lakeMu.Lock()
	defer c.lakeMu.Unlock()
	if c.closed() {
		return nil, ErrClosed
	}
	if c.lake != nil {
		return c.lake, nil
	}
	url := c.cfg.Backend.LakeURL()
	if url == "" {
		return nil, errors.New("console: the daemon has no lake configured")
	}
	storage := c.cfg.Storage
	if storage.Logger == nil {
		storage.Logger = c.log
	}
	l, err := lakehouse.OpenLake(ctx, url, storage)
	if err != nil {
		return nil, fmt.Errorf("console: opening the lake: %w", err)
	}
	c.lake = l
	return l, nil
}
