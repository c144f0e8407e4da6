package live

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hindsightdev/hindsight/console"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/httpguard"
	"github.com/hindsightdev/hindsight/internal/httpjson"
	"github.com/hindsightdev/hindsight/rule"
)

// The HTTP server's protections (README.md, "Exposing Hindsight" and "Limits"): bounded
// connections, timeouts, header and body sizes, streams and heavy requests; a Host
// check against DNS rebinding; the API token for reads; security headers on every
// answer. Each limit is a Config field, a flag of `hindsight live`, a value in
// hindsight_limit{name} and, when reached, a clear answer and a count in
// hindsight_limit_reached_total{name}.

// Names of the limits: the name label of hindsight_limit and
// hindsight_limit_reached_total. The console reports its own under the same names.
const (
	limitConnections       = httpguard.LimitConnections
	limitReadHeaderTimeout = httpguard.LimitReadHeaderTimeout
	limitReadTimeout       = console.LimitReadTimeout
	limitWriteTimeout      = httpguard.LimitWriteTimeout
	limitIdleTimeout       = httpguard.LimitIdleTimeout
	limitHeaderBytes       = httpguard.LimitHeaderBytes
	limitBodyBytes         = console.LimitBody
	limitStreams           = console.LimitStreams
	limitHeavy             = "http_max_heavy_requests"
	limitCountsPage        = "counts_page_size"
	limitCountsMaxPage     = "counts_max_page_size"
	limitPreviewTimeout    = console.LimitPreviewTimeout
	limitPreviewScan       = console.LimitPreviewScan
	limitPreviewBytes      = console.LimitPreviewBytes
	limitSnapshotAge       = "max_snapshot_age_seconds"
	limitSnapshotBytes     = "max_snapshot_bytes"
	limitArchiveLag        = "max_archive_lag_records"
	limitConsumerStall     = "max_consumer_stall_seconds"
	limitProduceStall      = "max_produce_stall_seconds"
	limitHandoffBuffer     = "max_handoff_buffer_bytes"
	limitHandoffBuffers    = "max_handoff_buffers_bytes"
	limitCounters          = "max_counters"
	limitHistoryAlerts     = "max_history_alerts"
	limitHistoryDays       = "max_history_days"
	limitCustomerIDs       = "max_customer_ids_bytes"
	limitMemory            = "memory_limit_bytes"
	limitBackfillMemory    = "backfill_memory_limit"
	limitBackfillSpill     = "backfill_max_spill_bytes"
)

// ensureHTTPDefaults fills the HTTP limits' documented defaults (see Config).
func (c *Config) ensureHTTPDefaults() {
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&c.HTTPMaxConnections, 512)
	setDur(&c.HTTPReadHeaderTimeout, httpguard.DefaultReadHeaderTimeout)
	setDur(&c.HTTPReadTimeout, httpguard.DefaultReadTimeout)
	setDur(&c.HTTPWriteTimeout, httpguard.DefaultWriteTimeout)
	setDur(&c.HTTPIdleTimeout, httpguard.DefaultIdleTimeout)
	setInt(&c.HTTPMaxHeaderBytes, httpguard.DefaultMaxHeaderBytes)
	if c.HTTPMaxBodyBytes <= 0 {
		c.HTTPMaxBodyBytes = 1 << 20
	}
	setInt(&c.HTTPMaxStreams, 64)
	setInt(&c.HTTPMaxHeavyRequests, 4)
	setInt(&c.CountsPageSize, 1000)
	setInt(&c.CountsMaxPageSize, 10_000)
	setDur(&c.PreviewTimeout, console.DefaultPreviewTimeout)
	setInt(&c.PreviewMaxScan, console.DefaultPreviewMaxScan)
	setInt(&c.PreviewMaxBytes, console.DefaultPreviewMaxBytes)
	setInt(&c.PreviewSample, console.DefaultPreviewSample)
	setInt(&c.PreviewMaxSample, console.DefaultPreviewMaxSample)
	setInt(&c.ConsoleRecentAlerts, console.DefaultRecentAlerts)
	setInt(&c.ConsoleStreamBacklog, console.DefaultStreamBacklog)
	setInt(&c.ConsoleTopCustomers, console.DefaultTopCustomers)
	setInt(&c.ConsoleWindowsPageSize, console.DefaultWindowsPageSize)
	setInt(&c.ConsoleWindowsMaxPageSize, console.DefaultWindowsMaxPageSize)
	setInt(&c.ConsoleMutesPageSize, console.DefaultMutesPageSize)
	setInt(&c.ConsoleMutesMaxPageSize, console.DefaultMutesMaxPageSize)
	setDur(&c.MaxSnapshotAge, 5*time.Minute)
	setDur(&c.MaxConsumerStall, 2*time.Minute)
	setDur(&c.MaxProduceStall, 2*time.Minute)
	if c.MaxArchiveLag <= 0 {
		c.MaxArchiveLag = 1_000_000
	}
}

// validateHTTP reports HTTP limits that contradict each other, and malformed allowed
// hosts.
func (c *Config) validateHTTP() []error {
	var errs []error
	if c.CountsPageSize > c.CountsMaxPageSize {
		errs = append(errs, fmt.Errorf("counts page size %d (--counts-page-size) is above the maximum page size %d (--counts-max-page-size): lower the one or raise the other", c.CountsPageSize, c.CountsMaxPageSize))
	}
	// The console's own bounds, checked as the console checks them (its backend is not
	// used by Validate).
	cc := c.consoleConfig(consoleBackend{})
	cc.EnsureDefaults()
	if err := cc.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.HTTPMaxStreams >= c.HTTPMaxConnections {
		errs = append(errs, fmt.Errorf("http max streams %d (--http-max-streams) must be below http max connections %d (--http-max-connections): streams would take every connection", c.HTTPMaxStreams, c.HTTPMaxConnections))
	}
	if c.PreviewTimeout >= c.HTTPWriteTimeout {
		errs = append(errs, fmt.Errorf("preview timeout %s (--preview-timeout) must be below the http write timeout %s (--http-write-timeout), or previews are cut off unanswered", c.PreviewTimeout, c.HTTPWriteTimeout))
	}
	if !c.NoSnapshots && c.MaxSnapshotAge <= c.SnapshotInterval {
		errs = append(errs, fmt.Errorf("max snapshot age %s (--max-snapshot-age) must exceed the snapshot interval %s (--snapshot-interval), or /readyz fails between snapshots", c.MaxSnapshotAge, c.SnapshotInterval))
	}
	if lagEvery := cmp.Or(c.ConsumerLagInterval, ingest.DefaultLagInterval); c.MaxConsumerStall <= 2*lagEvery {
		errs = append(errs, fmt.Errorf("max consumer stall %s (--max-consumer-stall) must exceed %s, twice how often a partition's lag is measured (%s), or /readyz could fail between measurements of a partition being read", c.MaxConsumerStall, 2*lagEvery, lagEvery))
	}
	if err := validToken(c.APIToken); err != nil {
		errs = append(errs, err)
	}
	if err := httpguard.ValidateAllowed(c.AllowedHosts); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// validToken refuses an API token no client can send, with which no request would ever
// be authorized while the daemon runs as if guarded: one with white space at its ends
// (a client's token is read without it), a line break or another control character
// inside (net/http's client will not send such a header, nor its server read one), or a
// character beyond ASCII (a browser's fetch throws for a header value beyond
// ISO-8859-1, so the console page could never send it). Printable ASCII, as RFC 6750's
// bearer tokens are, is what every client sends as typed. The message never shows the
// token.
func validToken(token string) error {
	const fix = "; an api token (--api-token / HINDSIGHT_API_TOKEN) must be printable ASCII (0x21-0x7e: letters, digits, punctuation), which every client, the console page too, can send in an Authorization header"
	switch {
	case token != strings.TrimSpace(token):
		return errors.New("api token has white space at its start or end (a newline from a file?): remove it, or no request would be authorized" + fix)
	case strings.IndexFunc(token, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0:
		return errors.New("api token holds white space, a line break or a control character: no client could send it, and no request would be authorized" + fix)
	case strings.IndexFunc(token, func(r rune) bool { return r > 0x7e }) >= 0:
		return errors.New("api token holds a character beyond ASCII (or bytes that are not UTF-8): a browser cannot send it, and the console page could never be authorized" + fix)
	}
	return nil
}

// webState is the HTTP side's own state: the console, the heavy-request gate, the Host
// policy, the readiness bookkeeping. Built once by routes, it hangs off the daemon's
// listener (see web), so that the HTTP side keeps its state in its own files and the
// daemon's lifecycle code only holds the listener it always held.
type webState struct {
	console *console.Console // nil when it could not be built
	heavy   *gate
	hosts   httpguard.Hosts
	ready   readiness
}

// web returns the daemon's HTTP state, nil before routes built it.
func (d *Daemon) web() *webState {
	if l, ok := d.ln.(*httpListener); ok {
		return l.web
	}
	return nil
}

// harden wraps the daemon's listener in the connection cap and returns the HTTP state.
// It runs in routes, which Start calls once the listener exists and before anything
// serves; the http.Server, built after routes returns, is given its timeouts and header
// cap by the listener before its first connection (configureServer).
func (d *Daemon) harden() *webState {
	c := &d.cfg
	ws := &webState{heavy: newGate(c.HTTPMaxHeavyRequests, d.m), hosts: httpguard.NewHosts(c.HTTPAddr, d.ln.Addr(), c.AllowedHosts)}
	for name, v := range map[string]float64{
		limitConnections: float64(c.HTTPMaxConnections), limitReadHeaderTimeout: c.HTTPReadHeaderTimeout.Seconds(),
		limitReadTimeout: c.HTTPReadTimeout.Seconds(), limitWriteTimeout: c.HTTPWriteTimeout.Seconds(),
		limitIdleTimeout: c.HTTPIdleTimeout.Seconds(), limitHeaderBytes: float64(c.HTTPMaxHeaderBytes),
		limitBodyBytes: float64(c.HTTPMaxBodyBytes), limitStreams: float64(c.HTTPMaxStreams), limitHeavy: float64(c.HTTPMaxHeavyRequests),
		limitCountsPage: float64(c.CountsPageSize), limitCountsMaxPage: float64(c.CountsMaxPageSize),
		limitPreviewTimeout: c.PreviewTimeout.Seconds(), limitPreviewScan: float64(c.PreviewMaxScan), limitPreviewBytes: float64(c.PreviewMaxBytes),
		limitSnapshotAge: c.MaxSnapshotAge.Seconds(), limitArchiveLag: float64(c.MaxArchiveLag), limitConsumerStall: c.MaxConsumerStall.Seconds(),
		limitProduceStall:          c.MaxProduceStall.Seconds(),
		limitMemory:                float64(c.MemoryLimit),
		console.LimitPreviewSample: float64(c.PreviewMaxSample), console.LimitRecentAlerts: float64(c.ConsoleRecentAlerts), console.LimitStreamBacklog: float64(c.ConsoleStreamBacklog),
		console.LimitWindowsMaxPage: float64(c.ConsoleWindowsMaxPageSize), console.LimitMutesMaxPage: float64(c.ConsoleMutesMaxPageSize),
	} {
		d.m.limits.ShowCounted(name, v)
	}
	// The rule limits in force (rule.SetLimits) and the backfill memory bound are
	// limits of this process too.
	rule.CurrentLimits().Each(func(name string, v float64) { d.m.limits.Show(name, v) })
	d.m.limits.ShowCounted(rule.LimitRejected, float64(rule.CurrentLimits().MaxRejectedControls))
	d.m.limits.ShowCounted(rule.LimitEvalWork, float64(rule.CurrentLimits().MaxEvalWork))
	d.m.limits.ShowCounted(rule.LimitEndedVersions, float64(rule.CurrentLimits().MaxEndedVersions))
	d.m.limits.ShowCounted(rule.LimitEndedMutes, float64(rule.CurrentLimits().MaxEndedMutes))
	d.m.limits.ShowCounted(limitBackfillMemory, float64(c.BackfillMemoryLimit))
	d.m.limits.ShowCounted(limitBackfillSpill, float64(c.BackfillMaxSpillBytes))
	d.m.limits.Show("backfill_concurrency", float64(c.BackfillConcurrency))
	d.m.limits.Show("max_groups", float64(c.WindowLimits.MaxGroups))
	d.m.limits.Show("max_distinct", float64(c.WindowLimits.MaxDistinct))
	d.m.limits.Show("max_key_bytes", float64(c.WindowLimits.MaxKeyBytes))
	d.m.limits.ShowCounted(limitHandoffBuffer, float64(c.HandoffBufferBytes))
	d.m.limits.ShowCounted(limitHandoffBuffers, float64(c.HandoffBuffersBytes))
	d.m.limits.ShowCounted(limitCounters, float64(c.MaxCounters))
	d.m.limits.ShowCounted(limitSnapshotBytes, float64(c.MaxSnapshotBytes))
	d.m.limits.ShowCounted(limitHistoryAlerts, float64(c.MaxHistoryAlerts))
	d.m.limits.ShowCounted(limitHistoryDays, float64(max(c.MaxHistoryDays, 0)))
	d.m.limits.ShowCounted(limitCustomerIDs, float64(c.MaxCustomerIDBytes))
	d.m.limits.ShowCounted(limitQueuedRecords, float64(c.MaxQueuedRecords))
	d.m.limits.ShowCounted(limitQueuedBytes, float64(c.MaxQueuedBytes))
	d.m.limits.ShowCounted(limitPendingProduce, float64(c.MaxPendingProduceBytes))
	d.m.limits.ShowCounted(limitDecompressedBatch, float64(c.MaxDecompressedBatchBytes))
	d.m.limits.Show("fetch_max_bytes", float64(c.FetchMaxBytes))
	d.m.limits.Show("preview_sample", float64(c.PreviewSample))
	d.m.limits.Show(console.LimitWindowsPage, float64(c.ConsoleWindowsPageSize))
	d.m.limits.Show(console.LimitMutesPage, float64(c.ConsoleMutesPageSize))
	d.m.limits.Show(console.LimitTopCustomers, float64(c.ConsoleTopCustomers))
	d.m.limits.ShowCounted(limitDeadLetterBytes, float64(c.DeadLetterMaxBytes))
	d.m.limits.ShowCounted(limitAlertBytes, float64(c.AlertMaxBytes))
	if soft, ok := openFileLimit(); ok && c.HTTPMaxConnections > soft/2 {
		d.log.Warn("the HTTP connection cap is above half the limit of open files: a flood of connections could leave storage and Kafka without file descriptors; lower --http-max-connections or raise the limit (ulimit -n)",
			"http_max_connections", c.HTTPMaxConnections, "open_files_limit", soft)
	}
	d.ln = newHTTPListener(d.ln, d, c.HTTPMaxConnections, ws)
	return ws
}

// openFileLimit reads the process's soft limit of open files where /proc says it.
func openFileLimit() (int, bool) {
	f, err := os.Open("/proc/self/limits")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max open files"); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				n, err := strconv.Atoi(fields[0])
				return n, err == nil
			}
		}
	}
	return 0, false
}

// configureServer gives the HTTP server its limits, as every guarded server is
// configured (httpguard.Configure).
func (d *Daemon) configureServer(srv *http.Server) {
	c := &d.cfg
	httpguard.Configure(srv, httpguard.Limits{
		ReadHeaderTimeout: c.HTTPReadHeaderTimeout, ReadTimeout: c.HTTPReadTimeout,
		WriteTimeout: c.HTTPWriteTimeout, IdleTimeout: c.HTTPIdleTimeout,
		MaxHeaderBytes: c.HTTPMaxHeaderBytes,
	}, d.log)
}

// httpListener holds at most max connections: Accept waits for a free slot, and the
// connections beyond wait in the kernel's accept queue, costing this process no file
// descriptor. It counts the times it had to wait, and configures the server on its
// first Accept: Serve calls Accept before it starts any connection, so every connection
// sees the configured server. (golang.org/x/net/netutil.LimitListener does the same
// bounding, but its connections hide the TCP connection's CloseWrite, without which
// net/http closes at once after an answer that ends the connection, such as a 431 or
// 413, and the client may get a reset instead of the answer.)
type httpListener struct {
	net.Listener
	d         *Daemon
	slots     *httpguard.Slots
	closed    chan struct{}
	closeOnce sync.Once
	once      sync.Once
	web       *webState
}

func newHTTPListener(ln net.Listener, d *Daemon, max int, ws *webState) *httpListener {
	return &httpListener{Listener: ln, d: d, slots: httpguard.NewSlots(max, func() { d.m.limits.Reached(limitConnections) }), closed: make(chan struct{}), web: ws}
}

func (l *httpListener) Accept() (net.Conn, error) {
	l.once.Do(func() { l.d.configureServer(l.d.srv) })
	if err := l.slots.Take(l.closed); err != nil {
		return nil, err
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.slots.Give()
		return nil, err
	}
	l.d.m.httpConns.Inc()
	return httpguard.NewConn(c, l.d.cfg.HTTPMaxHeaderBytes, l.d.m.limits.Reached, func() {
		l.d.m.httpConns.Dec()
		l.slots.Give()
	}), nil
}

// Close stops accepting, and closes the console: its streams end and its Kafka client
// closes before the daemon reports it stopped (the server's Shutdown only starts the
// console's Close in the background, which could outlive the daemon).
func (l *httpListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() {
		close(l.closed)
		if l.web.console != nil {
			l.web.console.Close()
		}
	})
	return err
}

// guard applies, to every request, the security headers, the Host check, the refusal
// of a request for the whole server ("OPTIONS *") and the body cap, in that order: even
// a refusal carries the headers. A handler's panic is answered 500 in JSON.
func (d *Daemon) guard(ws *webState, next http.Handler) http.Handler {
	maxBody := d.cfg.HTTPMaxBodyBytes
	// Inside the headers and the Host check, so that a handler's panic is answered as
	// any refusal is (httpguard.Recovered).
	next = httpguard.Recovered(d.log, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpguard.SecurityHeaders(w.Header()) // the console page sets its own CSP
		if !ws.hosts.Allows(r.Host) {
			httpjson.Error(w, http.StatusForbidden, ws.hosts.Refusal(r.Host))
			return
		}
		if httpguard.RefusedAsterisk(w, r) {
			return
		}
		if r.ContentLength > maxBody {
			d.m.limits.Reached(limitBodyBytes)
			httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"the request body of %d bytes is over the limit of %d bytes (--http-max-body-bytes)", r.ContentLength, maxBody))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			// A body of unknown length is cut at the cap; the handler reading it gets an
			// *http.MaxBytesError and answers 413 (the console does).
			r.Body = &cappedBody{ReadCloser: http.MaxBytesReader(w, r.Body, maxBody), m: d.m}
		}
		next.ServeHTTP(w, r)
	})
}

// cappedBody counts the first time its reader reaches the cap.
type cappedBody struct {
	io.ReadCloser
	m       *metrics
	counted bool
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if err != nil && !b.counted && errors.As(err, &tooLarge) {
		b.counted = true
		b.m.limits.Reached(limitBodyBytes)
	}
	return n, err
}

// read wraps a read endpoint of the daemon in the console's ReadPolicy: with a token
// and no PublicRead, it needs the token.
func (d *Daemon) read(h http.Handler) http.Handler {
	protect := d.cfg.APIToken != "" && !d.cfg.PublicRead
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := console.ReadPolicy(d.cfg.APIToken, protect, r); err != nil {
			err.Answer(w)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// consoleConfig is the console's configuration from the daemon's: its limits, and
// backend b.
func (c *Config) consoleConfig(b console.Backend) console.Config {
	// A backtest's replay of plain counts is bounded as this process's counters are.
	wl := c.WindowLimits
	wl.MaxCounters, wl.MaxCustomerIDBytes = c.MaxCounters, c.MaxCustomerIDBytes
	return console.Config{
		Backend: b, APIToken: c.APIToken,
		ProtectReads: c.APIToken != "" && !c.PublicRead,
		MaxStreams:   c.HTTPMaxStreams, StreamWriteTimeout: c.HTTPWriteTimeout, AnswerWithin: c.HTTPWriteTimeout, MaxBodyBytes: c.HTTPMaxBodyBytes,
		PreviewTimeout: c.PreviewTimeout, PreviewMaxScan: c.PreviewMaxScan, PreviewMaxBytes: c.PreviewMaxBytes, WindowLimits: wl, MaxBacktestDays: c.MaxHistoryDays,
		PreviewSample: c.PreviewSample, PreviewMaxSample: c.PreviewMaxSample, RecentAlerts: c.ConsoleRecentAlerts, StreamBacklog: c.ConsoleStreamBacklog,
		TopCustomers: c.ConsoleTopCustomers, CountsMaxTop: c.CountsMaxPageSize,
		WindowsPageSize: c.ConsoleWindowsPageSize, WindowsMaxPageSize: c.ConsoleWindowsMaxPageSize,
		MutesPageSize: c.ConsoleMutesPageSize, MutesMaxPageSize: c.ConsoleMutesMaxPageSize,
	}
}

// newConsole builds the rule console (package console) with the daemon's limits. A
// console that cannot be built answers 503 with the reason; the rest of the daemon runs
// on.
func (d *Daemon) newConsole(ws *webState) http.Handler {
	cc := d.cfg.consoleConfig(d.ConsoleBackend())
	cc.Logger = d.log.With("stage", "console")
	cc.Storage = d.storage(cc.Logger)
	cc.Admit = ws.heavy.enter
	cc.LimitReached = func(name string) { d.m.limits.Reached(name) }
	cc.StreamsChanged = func(delta int) { d.m.streamsOpen.Add(float64(delta)) }
	con, err := console.New(cc)
	if err != nil {
		d.log.Error("rule console unavailable", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			httpjson.Error(w, http.StatusServiceUnavailable, "rule console unavailable: "+err.Error())
		})
	}
	ws.console = con
	return con
}

// gate bounds the heavy requests (those that walk every counter or read the lake)
// running at once. It never queues: a request over the cap is answered at once, so that
// waiting requests cannot pile up connections.
type gate struct {
	slots chan struct{}
	m     *metrics
}

func newGate(n int, m *metrics) *gate { return &gate{slots: make(chan struct{}, n), m: m} }

// enter takes a slot, returning the function that gives it back, or an error that says
// the cap is reached.
func (g *gate) enter() (func(), error) {
	select {
	case g.slots <- struct{}{}:
		g.m.heavyRunning.Inc()
		var once sync.Once
		return func() {
			once.Do(func() {
				g.m.heavyRunning.Dec()
				<-g.slots
			})
		}, nil
	default:
		g.m.limits.Reached(limitHeavy)
		return nil, fmt.Errorf("too many heavy requests at once: %d heavy requests (rule, counts or windows listings, previews, backtests) are running, the limit (--http-max-heavy-requests); retry in a moment", cap(g.slots))
	}
}
