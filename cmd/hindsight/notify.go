package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/internal/httpguard"
	"github.com/hindsightdev/hindsight/internal/httpjson"
	"github.com/hindsightdev/hindsight/internal/limitmetric"
	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// addNotifyFlags registers the notify stage's flags, writing into c: `hindsight notify`
// and `hindsight live` (which runs the stage unless --no-notify) take the same ones.
func addNotifyFlags(f *pflag.FlagSet, c *notify.Config) {
	f.StringVar(&c.Group, "notify-group", notify.DefaultGroup, "consumer group of the notify stage on the alerts topic")
	f.IntVar(&c.QueueSize, "notify-queue-size", notify.DefaultQueueSize, fmt.Sprintf("deliveries waiting per destination; beyond, an alert for it is recorded undelivered at once (at most %d; 0: the default)", notify.MaxQueueSize))
	f.IntVar(&c.Concurrency, "notify-concurrency", notify.DefaultConcurrency, fmt.Sprintf("deliveries to one destination at once (at most %d; 0: the default)", notify.MaxConcurrency))
	f.IntVar(&c.UndeliveredWaiting, "notify-undelivered-waiting", notify.DefaultUndeliveredWaiting, "undelivered records of alerts given up on as they are read (no destination, a full queue) that may wait to be written; beyond, reading alerts waits (0: the default)")
	f.IntVar(&c.MaxPending, "notify-max-pending", notify.DefaultMaxPending, "alerts naming destinations read since each partition's oldest not yet delivered or recorded undelivered (what a restart delivers again); at it, reading alerts waits until the oldest are handled (0: the default)")
	f.IntVar(&c.MaxOpenFirings, "notify-max-open-firings", notify.DefaultMaxOpenFirings, fmt.Sprintf("firings remembered in memory until their resolves are read, so that a resolve follows its firing (muted if it was, else sent where it went whatever mute is in force) and a muted one is sent when its mute ends; at it the oldest is forgotten; it bounds as well the ids kept of firings read again (--notify-remember-for) and not remembered (at most %d; 0: the default)", notify.MaxMaxOpenFirings))
	f.DurationVar(&c.RememberFor, "notify-remember-for", notify.DefaultRememberFor, "how far back, by record time, the notify stage reads an alerts partition's records before its committed offset when it is assigned (a start, a rebalance), delivering nothing, to remember again the muted firings still open, sent when their mutes end; one older is forgotten, its resolve judged on its own (0: the default)")
	f.IntVar(&c.Recent, "notify-recent", notify.DefaultRecent, fmt.Sprintf("latest alerts whose delivery states are kept in memory for the console and /v1/notify/alerts (at most %d; 0: the default)", notify.MaxRecent))
	f.DurationVar(&c.Sender.Timeout, "notify-timeout", notify.DefaultTimeout, "bound on one delivery attempt (connect, answer and body; 0: the default)")
	f.IntVar(&c.Sender.MaxAttempts, "notify-max-attempts", notify.DefaultMaxAttempts, "requests one delivery may make, the first included (0: the default)")
	f.DurationVar(&c.Sender.MaxElapsed, "notify-retry-budget", notify.DefaultMaxElapsed, "time a delivery may spend retrying before it is recorded undelivered (0: the default)")
	f.DurationVar(&c.Sender.MaxRetryAfter, "notify-max-retry-after", notify.DefaultMaxRetryAfter, "longest wait a receiver's Retry-After (on 429 or 503) is honoured for; a longer one is waited this long, and one past the retry budget ends the retries (0: the default)")
	f.BoolVar(&c.Sender.AllowPrivate, "notify-allow-private", false, "allow destination URLs on private, loopback and link-local addresses (refused by default)")
	c.SecretEnvPrefix = notify.DefaultSecretEnvPrefix
	f.Var(nonEmptyFlag{&c.SecretEnvPrefix}, "notify-secret-env-prefix", "how the names of the environment variables a destination's secret or url_from may name start; naming any other variable makes its deliveries undelivered (a prefix of a flag's variable, HINDSIGHT_<FLAG>, is refused)")
	f.StringSliceVar(&c.SecretDirs, "notify-secret-dir", nil, "absolute directory whose regular files a destination's secret or url_from may name, symbolic links resolved (repeatable); none: naming a file makes its deliveries undelivered")
	f.IntVar(&c.MaxSecretBytes, "notify-max-secret-bytes", notify.DefaultMaxSecretBytes, "bytes a destination's secret or url_from may hold (a file, an environment variable); a larger one makes its deliveries undelivered (0: the default)")
}

// nonEmptyFlag is a string flag that refuses to be set to "": an empty
// --notify-secret-env-prefix would let destinations name every variable of the process.
type nonEmptyFlag struct{ s *string }

func (f nonEmptyFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f nonEmptyFlag) Set(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	*f.s = v
	return nil
}

func (nonEmptyFlag) Type() string { return "string" }

// notifyConfig configures `hindsight notify`.
type notifyConfig struct {
	Stage notify.Config
	// HTTPAddr serves /metrics and /v1/notify/alerts; "" serves nothing.
	HTTPAddr string
	// HTTP bounds that server.
	HTTP httpguard.Limits
}

func newNotifyCmd() *cobra.Command {
	var (
		cfg        notifyConfig
		ruleLimits rule.Limits
		logLevel   string
	)
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Deliver alerts to their rules' destinations (webhook, Slack, PagerDuty)",
		Long: `Run the notify stage alone (hindsight live runs it too, unless --no-notify). It folds
the controls topic for destinations and mutes, consumes the alerts topic in its own
consumer group (--notify-group), and delivers each alert to the destinations its rule's
alert.notify names, with retries; an alert given up on is written to the undelivered topic
with the reason. Offsets are committed once an alert is delivered or recorded undelivered
at every destination, so a crash delivers again and never loses one: receivers dedupe by
the Idempotency-Key header. docs/notifications.md is the receivers' side: headers,
signature, bodies.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := envLogger(cmd, logLevel)
			if err != nil {
				return err
			}
			if err := applyRuleLimits(ruleLimits); err != nil {
				return err
			}
			cfg.Stage.Logger = logger
			reserveFlagVariables(cmd, &cfg.Stage)
			// The stage's options before any broker is asked: a bad value says so
			// whether a broker runs or not (it was "no broker answered" without one).
			cfg.Stage.EnsureDefaults()
			if err := cfg.Stage.Kafka.Validate(); err != nil {
				return usageError{err}
			}
			if err := cfg.Stage.ValidateOptions(); err != nil {
				return usageError{err}
			}
			// One topic for two roles, as live refuses it: --topic-undelivered alerts
			// wrote the alerts given up on where the stage skips them as "not an alert",
			// and --topic-alerts controls read the rules as alerts.
			if err := cfg.Stage.Topics.Validate(); err != nil {
				return usageError{err}
			}
			if err := cfg.HTTP.Validate(); err != nil {
				return usageError{err}
			}
			// As every command that talks to Kafka: none answering is said at once, not
			// retried in the log for ever.
			if err := pingBrokers(cmd.Context(), cfg.Stage.Kafka, ""); err != nil {
				return stoppedWhileStarting(cmd.Context(), err)
			}
			return runNotify(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	addKafkaFlags(f, &cfg.Stage.Kafka, &cfg.Stage.Topics, defaultBrokers, topicAlerts|topicControls|topicUndelivered)
	addNotifyFlags(f, &cfg.Stage)
	f.DurationVar(&cfg.Stage.ShutdownTimeout, "shutdown-timeout", notify.DefaultShutdownTimeout, "bound at a stop on writing the undelivered records of the muted firings, sent as their mutes ended, that the stop cut short (no restart sends them; 0: the default)")
	f.StringVar(&cfg.HTTPAddr, "http", "127.0.0.1:9465", `address serving /metrics and /v1/notify/alerts ("" for none)`)
	addSideHTTPFlags(f, &cfg.HTTP)
	addLogFlags(f, &logLevel, "info")
	addRuleLimitFlags(f, &ruleLimits)
	return cmd
}

// runNotify runs the notify stage until ctx ends.
func runNotify(ctx context.Context, cfg notifyConfig) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	cfg.Stage.Registerer = reg
	// One hindsight_limit family for the stage's limits and its server's.
	limits := limitmetric.New()
	reg.MustRegister(limits.Collectors()...)
	cfg.Stage.Limits = limits
	st, err := notify.New(cfg.Stage)
	if err != nil {
		return usageError{err}
	}
	// Listening before the stage starts: a refused address returns with nothing running.
	var ln net.Listener
	if cfg.HTTPAddr != "" {
		if ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return fmt.Errorf("notify: listening on %s: %w", cfg.HTTPAddr, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return st.Run(gctx) })
	if ln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /v1/notify/alerts", func(w http.ResponseWriter, r *http.Request) {
			// It reads no parameter: one given (?limit=5) would go unread and the
			// answer, every alert kept, would look like one to the question asked.
			if _, ok := httpjson.Query(w, r, nil); !ok {
				return
			}
			// Customers' alerts: never cached by a browser or a proxy (httpjson's
			// no-store), as live's JSON answers are.
			httpjson.Write(w, http.StatusOK, map[string]any{"alerts": st.Recent()})
		})
		cfg.Stage.Logger.Info("notify http listening", "addr", ln.Addr().String())
		g.Go(func() error { return httpguard.Serve(gctx, cfg.HTTPAddr, ln, mux, cfg.HTTP, limits, cfg.Stage.Logger) })
	}
	return g.Wait()
}

func newDestinationsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "destinations",
		Short: "Define where alerts are delivered (controls on the controls topic)",
		Long: `Destinations are controls on the controls topic, like rules: a rule's alert.notify names
them. A destination of scope * serves every customer; one of a customer's scope serves only
that customer's alerts (and wins over a global one of the same name for them). Secrets
never travel on the topic: a destination names the environment variable or file of the
notifying process that holds its signing key or routing key.`,
	}
	limits := new(rule.Limits)
	addRuleLimitFlags(cmd.PersistentFlags(), limits)
	var (
		applyCfg     rulesConfig
		file         string
		allowPrivate bool
		in           *notifyToApply
	)
	apply := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Publish the destinations and mutes of a YAML or JSON file",
		Long: `Validate every destination and mute of FILE (a mapping with destinations: and mutes:
lists; a rules file may carry them next to its rules) and publish an upsert control for
each. Nothing is published if any is invalid (exit status 2). A URL on a private,
loopback or link-local address is refused unless --allow-private (the notify stage refuses
it too unless --notify-allow-private).`,
		Args: cobra.NoArgs,
		RunE: rulesRunE(&applyCfg, limits, func(*cobra.Command, []string) error {
			var err error
			in, err = readNotifyFile(file, allowPrivate)
			return err
		}, func(cmd *cobra.Command, _ []string) error {
			return applyNotifyFile(cmd.Context(), applyCfg, in)
		}),
	}
	addRulesFlags(apply, &applyCfg)
	apply.Flags().StringVarP(&file, "file", "f", "", "destinations file (YAML or JSON)")
	apply.Flags().BoolVar(&allowPrivate, "allow-private", false, "accept URLs on private, loopback and link-local addresses")
	apply.Flags().DurationVar(&applyCfg.Wait, "wait", 0, "wait this long for the daemon's control statuses (0: don't wait)")
	_ = apply.MarkFlagRequired("file")

	list := newFoldListCmd(limits, "List the destinations on the controls topic", func(g *controls.Registry, out io.Writer, asJSON bool) error {
		ds := g.Destinations()
		if asJSON {
			return writeJSON(out, map[string]any{"destinations": ds})
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCOPE\tNAME\tTYPE\tURL\tSECRET")
		for _, d := range ds {
			u := d.URL
			if d.URLFrom != nil {
				u = "(" + d.URLFrom.String() + ")"
			}
			sec := "-"
			if d.Secret != nil {
				sec = d.Secret.String()
			}
			// As the mutes below: what the controls carry, quoted when it could forge a row.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", shown.Text(d.Scope), shown.Text(d.Name), shown.Text(d.Type), shown.Text(u), shown.Text(sec))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(out, plural(len(ds), "destination"))
		return nil
	})

	cmd.AddCommand(apply, list, newNotifyDeleteCmd(limits, rule.KindDestination))
	return cmd
}

func newMutesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mutes",
		Short: "Stop notifications for a customer or rule for a while (counting goes on)",
		Long: `A mute stops notifications for the alerts it matches, while rules go on counting and
alerts are still recorded (with muted: true). It matches a customer (--scope, * for every
customer) and a rule id (--rule, * for every rule), until a time (--until or --for; none:
until deleted).`,
	}
	limits := new(rule.Limits)
	addRuleLimitFlags(cmd.PersistentFlags(), limits)
	var (
		addCfg rulesConfig
		m      rule.Mute
		until  string
		dur    time.Duration
	)
	add := &cobra.Command{
		Use:   "add ID",
		Short: "Publish a mute",
		Args:  cobra.ExactArgs(1),
		// The mute is checked before any broker is asked: bad input says so first.
		PreRunE: func(cmd *cobra.Command, args []string) error {
			m.ID = args[0]
			switch {
			case until != "" && dur > 0:
				return usageError{errors.New("give --until or --for, not both")}
			case dur < 0 || dur == 0 && cmd.Flags().Changed("for"):
				// Not a mute without end, which leaving --for out asks for.
				return usageError{fmt.Errorf("--for %s: a mute's length must be positive (leave --for out for a mute until deleted)", dur)}
			case until != "":
				t, err := time.Parse(time.RFC3339, until)
				if err != nil {
					return usageError{fmt.Errorf("--until: %w", err)}
				}
				if !t.After(time.Now()) {
					// Published, it would mute nothing (and say ok).
					return usageError{fmt.Errorf("--until %s is past: a mute that ended mutes nothing", until)}
				}
				if !rule.InRFC3339Years(t) {
					// Published in UTC, which RFC 3339 (the control's JSON) cannot write.
					return usageError{fmt.Errorf("--until %s is %s in UTC, past the year 9999, which a control cannot carry (leave --until out for a mute until deleted)",
						until, t.UTC().Format(time.RFC3339))}
				}
				m.Until = t.UTC()
			case dur > 0:
				m.Until = rule.MuteUntil(time.Now(), dur)
			}
			if err := m.Validate(); err != nil {
				return usageError{err}
			}
			return nil
		},
		RunE: rulesRunE(&addCfg, limits, nil, func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), addCfg.bound())
			defer cancel()
			return publishAndReport(ctx, addCfg, []*rule.Control{rule.UpsertMute(&m)})
		}),
	}
	addRulesFlags(add, &addCfg)
	add.Flags().StringVar(&m.Scope, "scope", rule.GlobalScope, `customer whose alerts it mutes, or "*" for every customer`)
	add.Flags().StringVar(&m.Rule, "rule", rule.GlobalScope, `rule id whose alerts it mutes, or "*" for every rule`)
	add.Flags().StringVar(&until, "until", "", "end of the mute, RFC 3339")
	add.Flags().DurationVar(&dur, "for", 0, "length of the mute from now")
	add.Flags().StringVar(&m.Reason, "reason", "", "why")
	add.Flags().StringVar(&m.By, "by", "", "who")
	add.Flags().DurationVar(&addCfg.Wait, "wait", 0, "wait this long for the daemon's control status (0: don't wait)")

	list := newFoldListCmd(limits, "List the mutes on the controls topic", func(g *controls.Registry, out io.Writer, asJSON bool) error {
		now := time.Now()
		ms := g.MutesListed(now)
		if asJSON {
			return writeJSON(out, map[string]any{"mutes": ms})
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCOPE\tID\tRULE\tUNTIL\tBY\tREASON")
		for _, m := range ms {
			u := "until deleted"
			if !m.Until.IsZero() {
				u = m.Until.Format(time.RFC3339)
				if !now.Before(m.Until) {
					u += " (expired)"
				}
			}
			// Whoever wrote the controls wrote these: printed raw, a reason's newline
			// forged a row and a scope's escape reached the terminal.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", shown.Text(m.Scope), shown.Text(m.ID), shown.Text(m.Rule), u, shownOptional(m.By), shownOptional(m.Reason))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(out, plural(len(ms), "mute"))
		return nil
	})

	cmd.AddCommand(add, list, newNotifyDeleteCmd(limits, rule.KindMute))
	return cmd
}

// shownOptional is an optional field of a listing (a mute's by or reason) as
// shown.Text prints it, or nothing when it is empty, as rules list prints a rule
// without a name.
func shownOptional(s string) string {
	if s == "" {
		return ""
	}
	return shown.Text(s)
}

// newNotifyDeleteCmd is `destinations delete NAME` or `mutes delete ID`.
func newNotifyDeleteCmd(limits *rule.Limits, kind string) *cobra.Command {
	var (
		cfg   rulesConfig
		scope string
	)
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Publish a delete control for one " + kind,
		Args:  cobra.ExactArgs(1),
		RunE: rulesRunE(&cfg, limits, nil, func(cmd *cobra.Command, args []string) error {
			ctx, cancel, g, err := currentRules(cmd.Context(), &cfg)
			if err != nil {
				return err
			}
			defer cancel()
			k := rule.Key{Scope: scope, ID: args[0]}
			found := false
			if kind == rule.KindDestination {
				for _, d := range g.Destinations() {
					found = found || d.Scope == k.Scope && d.Name == k.ID
				}
			} else {
				for _, m := range g.MutesListed(time.Now()) {
					found = found || m.Scope == k.Scope && m.ID == k.ID
				}
			}
			if !found {
				return usageError{fmt.Errorf("%w: no %s %s (scope %q, name %q)", errNotApplied, kind, k, k.Scope, k.ID)}
			}
			return publishAndReport(ctx, cfg, []*rule.Control{rule.DeleteOf(kind, k)})
		}),
	}
	addRulesFlags(cmd, &cfg)
	cmd.Flags().StringVar(&scope, "scope", rule.GlobalScope, `scope: a customer id, or "*"`)
	cmd.Flags().DurationVar(&cfg.Wait, "wait", 0, "wait this long for the daemon's control status (0: don't wait)")
	return cmd
}

// notifyToApply is a destinations file read and checked, before any broker is asked.
type notifyToApply struct {
	name     string
	file     *rule.NotifyFile
	controls []*rule.Control
}

func readNotifyFile(file string, allowPrivate bool) (*notifyToApply, error) {
	data, err := rule.ReadRulesFileBytes(file)
	if err != nil {
		return nil, err
	}
	f, err := rule.ParseNotifyFile(file, data)
	if err != nil {
		return nil, err
	}
	cs, err := notifyControls(f, allowPrivate)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%w: %s has no destinations or mutes", rule.ErrInvalid, file)
	}
	return &notifyToApply{name: file, file: f, controls: cs}, nil
}

// applyNotifyFile publishes the destinations and mutes of a file that change what the
// controls topic holds.
func applyNotifyFile(ctx context.Context, cfg rulesConfig, in *notifyToApply) error {
	ctx, cancel, cur, err := currentRules(ctx, &cfg)
	if err != nil {
		return err
	}
	defer cancel()
	if err := checkRoom(in.name, cur, 0, 0, in.file); err != nil {
		return err
	}
	publish, err := notifyChanges(cfg, cur, in.controls)
	if err != nil {
		return err
	}
	return publishAndReport(ctx, cfg, publish)
}

// notifyChanges is cs, the upserts of a file's destinations and mutes, less those
// whose key holds the same in the fold cur, which it reports "unchanged" on cfg.Out
// (as applyRules its unchanged rules). Same is what the fold calls so (applyKeyed):
// the control decoded from its record value as a daemon decodes it (a mute's until in
// UTC) deeply equal to what the key holds, every field counted (a mute's until, a
// destination's secret and url_from references). Published again, each folded as
// "unchanged" but was reported "published", a new record on the topic at every apply
// of the same file.
func notifyChanges(cfg rulesConfig, cur *controls.Registry, cs []*rule.Control) ([]*rule.Control, error) {
	held := map[string]any{}
	for _, d := range cur.Destinations() {
		held[rule.UpsertDestination(d).RecordKey()] = *d
	}
	for _, m := range cur.Mutes() {
		held[rule.UpsertMute(m).RecordKey()] = *m
	}
	var publish []*rule.Control
	for _, c := range cs {
		data, err := c.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encoding the control of %s: %w", shown.Text(c.RecordKey()), err)
		}
		dc, err := rule.ParseControl(data)
		if err != nil {
			return nil, fmt.Errorf("decoding the control of %s as a daemon would: %w", shown.Text(c.RecordKey()), err)
		}
		var v any
		switch {
		case dc.Destination != nil:
			v = *dc.Destination
		case dc.Mute != nil:
			v = *dc.Mute
		}
		if old, ok := held[c.RecordKey()]; ok && v != nil && reflect.DeepEqual(old, v) {
			fmt.Fprintf(cfg.Out, "unchanged  %s\n", shown.Text(c.RecordKey()))
			continue
		}
		publish = append(publish, c)
	}
	return publish, nil
}

// notifyControls are the upserts of f's destinations and mutes; a URL the notify stage
// would refuse is an error unless allowPrivate.
func notifyControls(f *rule.NotifyFile, allowPrivate bool) ([]*rule.Control, error) {
	var cs []*rule.Control
	var errs []error
	for _, d := range f.Destinations {
		if d.URL != "" {
			if err := notify.CheckURL(d.URL, allowPrivate); err != nil {
				var fa *notify.ForbiddenAddressError
				if errors.As(err, &fa) {
					err = forbiddenURLError{fa}
				}
				// Bad input (exit status 2), but no rule's: "rule: invalid" prefixed it.
				errs = append(errs, usageError{fmt.Errorf("destination %s/%s: %w", d.Scope, d.Name, err)})
				continue
			}
		}
		cs = append(cs, rule.UpsertDestination(d))
	}
	for _, m := range f.Mutes {
		cs = append(cs, rule.UpsertMute(m))
	}
	return cs, errors.Join(errs...)
}

// forbiddenURLError is a destination address refused by rules apply or destinations
// apply, in their words: notify's own names the daemon's flag
// (--notify-allow-private), which these commands do not take.
type forbiddenURLError struct{ *notify.ForbiddenAddressError }

func (e forbiddenURLError) Error() string {
	return fmt.Sprintf("address %s is %s (apply with --allow-private to accept it)", e.Addr, e.Kind)
}

func (e forbiddenURLError) Unwrap() error { return e.ForbiddenAddressError }

// newFoldListCmd is a list command: it folds the controls topic and prints what show
// takes from the fold (--json: JSON).
func newFoldListCmd(limits *rule.Limits, short string, show func(g *controls.Registry, out io.Writer, asJSON bool) error) *cobra.Command {
	var cfg rulesConfig
	cmd := &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: rulesRunE(&cfg, limits, nil, func(cmd *cobra.Command, _ []string) error {
			_, cancel, g, err := currentRules(cmd.Context(), &cfg)
			if err != nil {
				return err
			}
			defer cancel()
			return show(g, cfg.Out, cfg.JSON)
		}),
	}
	addRulesFlags(cmd, &cfg)
	cmd.Flags().BoolVar(&cfg.JSON, "json", false, "print JSON")
	return cmd
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
