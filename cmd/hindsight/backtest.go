package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hindsightdev/hindsight/backtest"
	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
	"github.com/hindsightdev/hindsight/window"
)

func newBacktestCmd() *cobra.Command {
	var (
		cfg    backtestConfig
		limits rule.Limits
	)
	cmd := &cobra.Command{
		Use:   "backtest -f RULES [--from T] [--to T] [--customer C] [--out report.json]",
		Short: "How often rules would have fired over the lake's history, without applying them",
		Long: `Run a rules file's rules over the lake's history, as the live evaluator would have
(each partition's events in offset order), without applying them, and print how often
each would have fired: firings, the first and last, per day, the top customers and
groups (and of how many, when more fired than listed). The events the lake does not
hold yet are read from the events topic (--brokers, by default hindsight live's
embedded broker) after each partition's files, and those its retention dropped that
the topic still holds before them; with --brokers '' only the lake is read. What
neither holds is printed as not counted. --from and --to bound events by record time
(RFC 3339 or a date), [from, to), and --customer keeps one customer's: the events
left out are not evaluated at all, so windows, running counts and the watermark
(which decides lateness and closes incidents) start with the first event kept, and a
filtered run may differ from what live raised for that customer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyRuleLimits(limits); err != nil {
				return err
			}
			cfg.Out, cfg.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runBacktest(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	addKafkaFlags(f, &cfg.Kafka, &cfg.Topics, defaultBrokers, topicEvents)
	f.StringVarP(&cfg.RulesFile, "file", "f", "", "rules file, YAML or JSON (required)")
	f.StringVar(&cfg.LakeURL, "lake", defaultLake, "lake bucket URL (file://… or s3://…)")
	addStorageTimeoutFlag(f, &cfg.StorageTimeout)
	f.StringVar(&cfg.From, "from", "", "first record time read, RFC 3339 or YYYY-MM-DD (default: the lake's first)")
	f.StringVar(&cfg.To, "to", "", "record time read up to, excluded, RFC 3339 or YYYY-MM-DD (default: the lake's last)")
	f.StringVar(&cfg.Customer, "customer", "", "read only this customer's events")
	f.StringVar(&cfg.OutFile, "out", "", "also write the report as JSON to this file, and its chart of firings per day beside it (NAME.svg; per week, month or years over more than 400 days; none, and an earlier one removed, when nothing fired)")
	f.BoolVar(&cfg.JSON, "json", false, "print the report as JSON instead of text")
	f.IntVar(&cfg.MaxDays, "max-days", contract.DefaultMaxDays, "most days of firings a rule's per_day lists, the latest; the firings of earlier days are counted in its per_day_cut (0: the default; negative: no bound)")
	addWindowLimitFlags(f, &cfg.Limits, window.DefaultLimits)
	addMaxCountersFlag(f, &cfg.Limits.MaxCounters, "", "no bound")
	addMaxCustomerIDBytesFlag(f, &cfg.Limits.MaxCustomerIDBytes)
	addRuleLimitFlags(f, &limits)
	return cmd
}

// backtestConfig is `hindsight backtest`.
type backtestConfig struct {
	// Kafka, when it names brokers, is read for the events the lake does not hold yet
	// (Topics.Events).
	Kafka  ingest.KafkaConfig
	Topics ingest.Topics
	// RulesFile is the rules file. Required.
	RulesFile string
	// LakeURL is the lake (see lakehouse.OpenBucket). Default defaultLake.
	LakeURL string
	// StorageTimeout bounds a request to the lake's storage that makes no progress
	// (lakehouse.StorageConfig.Timeout).
	StorageTimeout time.Duration
	// From and To bound the events by record time (see parseBacktestTime).
	From, To string
	Customer string
	Limits   window.Limits
	// MaxDays bounds each rule's per_day (backtest.Config.MaxDays).
	MaxDays int
	// OutFile, when set, receives the report as JSON; JSON prints it as JSON.
	OutFile string
	JSON    bool
	// Out receives the report, Err progress (when it is a terminal).
	Out, Err io.Writer
}

// runBacktest reads the rules, runs them over the lake and prints the report.
func runBacktest(ctx context.Context, cfg backtestConfig) error {
	if cfg.RulesFile == "" {
		return usageError{fmt.Errorf("backtest: -f RULES is required")}
	}
	from, err := parseBacktestTime("--from", cfg.From)
	if err != nil {
		return usageError{err}
	}
	to, err := parseBacktestTime("--to", cfg.To)
	if err != nil {
		return usageError{err}
	}
	if cfg.To != "" && to.IsZero() {
		// backtest.Config's zero To is "no end"; a --to of year 1 is before every time.
		return usageError{fmt.Errorf("%w: --to %s is before every record time", backtest.ErrEmptyRange, cfg.To)}
	}
	if cfg.Customer != "" {
		// Live's check of a record key: a customer it would dead-letter has no event in
		// history, and a report of none would read as a customer who sent nothing.
		if _, err := verdict.CheckCustomer([]byte(cfg.Customer)); err != nil {
			return usageError{fmt.Errorf("backtest: --customer: %w: live dead-letters such a record key, so history holds no event of it", err)}
		}
	}
	if err := checkBacktestOut(cfg.OutFile, cfg.RulesFile); err != nil {
		return usageError{err}
	}
	data, err := rule.ReadRulesFileBytes(cfg.RulesFile)
	if err != nil {
		return rulesFileError(fmt.Errorf("backtest: %w", err))
	}
	file, err := rule.ParseRulesFileTests(cfg.RulesFile, data)
	if err != nil {
		return rulesFileError(err)
	}
	if len(file.Rules) == 0 { // a list of none ([], or rules: [] beside destinations)
		return usageError{fmt.Errorf("backtest: %s: no rules", cfg.RulesFile)}
	}
	if cfg.LakeURL == "" {
		cfg.LakeURL = defaultLake
	}
	if err := checkBucketFlag("lake", cfg.LakeURL); err != nil {
		return err
	}
	lake, err := openExistingLake(ctx, cfg.LakeURL, lakehouse.StorageConfig{Timeout: cfg.StorageTimeout, Logger: quietLogger}, len(cfg.Kafka.Brokers) > 0)
	if err != nil {
		return err
	}
	defer lake.Close()
	started := time.Now()
	btc := backtest.Config{Lake: lake, Rules: file.Rules, From: from, To: to, Customer: cfg.Customer, Limits: cfg.Limits, MaxDays: cfg.MaxDays,
		Brokers: cfg.Kafka.Brokers, Topic: cfg.Topics.Events}
	if len(cfg.Kafka.Brokers) > 0 {
		cfg.Kafka.EnsureDefaults()
		if btc.KafkaOpts, err = cfg.Kafka.Opts(); err != nil {
			return usageError{fmt.Errorf("backtest: %w", err)}
		}
		if err := pingBrokers(ctx, cfg.Kafka, "--brokers '' to read the lake alone"); err != nil {
			return fmt.Errorf("backtest: %w", err)
		}
	}
	if f, ok := cfg.Err.(*os.File); ok && isTerminal(f) {
		btc.Progress = func(read, total int64) { printBacktestProgress(cfg.Err, read, total, time.Since(started)) }
	}
	rep, err := backtest.Run(ctx, btc)
	if errors.Is(err, backtest.ErrEmptyRange) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if cfg.OutFile != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("backtest: encoding the report: %w", err)
		}
		if err := os.WriteFile(cfg.OutFile, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("backtest: writing the report: %w", err)
		}
		// The chart beside it, as `bench` writes one beside its report. A report
		// without firings has none: a chart an earlier run left there would be taken for
		// this report's.
		chart := plotPath(cfg.OutFile)
		drawn, err := writeBacktestPlot(rep, chart)
		if err != nil {
			return err
		}
		if !drawn {
			if err := os.Remove(chart); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("backtest: removing the chart of an earlier run, %s: %w", chart, err)
			}
		}
	}
	if cfg.JSON {
		enc := json.NewEncoder(cfg.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return printBacktest(cfg.Out, cfg.LakeURL, rep)
}

// checkBacktestOut refuses an --out whose report or chart (NAME.svg beside it, written,
// or removed when nothing fired) would be the rules file read, or each other, or
// cannot be written.
func checkBacktestOut(out, rules string) error {
	if out == "" {
		return nil
	}
	chart := plotPath(out)
	if chart == out {
		return fmt.Errorf("backtest: --out %s: the report is JSON, and its chart is written beside it as NAME.svg: name the report otherwise (report.json)", out)
	}
	if ri, err := os.Stat(rules); err == nil { // else reading the rules file says why
		for _, p := range []string{out, chart} {
			if pi, err := os.Stat(p); err == nil && os.SameFile(ri, pi) {
				return fmt.Errorf("backtest: --out %s would overwrite or remove the rules file %s (as %s): write the report elsewhere", out, rules, p)
			}
		}
	}
	if err := checkWritable("--out", out, chart); err != nil {
		return fmt.Errorf("backtest: %w", err) // before the lake is read, as bench before its run
	}
	return nil
}

// openExistingLake opens the lake at url, refusing one that holds nothing: a backtest
// of a mistyped path would otherwise say that no rule ever fires.
// With kafka (the events topic read after the lake), a lake that holds nothing yet
// is read as empty: everything comes from Kafka.
func openExistingLake(ctx context.Context, url string, storage lakehouse.StorageConfig, kafka bool) (*lakehouse.Lake, error) {
	lake, err := lakehouse.OpenExistingLake(ctx, url, storage)
	if err != nil {
		return nil, fmt.Errorf("backtest: opening lake %s: %w", url, err)
	}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		lake.Close()
		return nil, fmt.Errorf("backtest: reading lake %s: %w", url, err)
	}
	if snap.Version() == 0 && !kafka {
		lake.Close()
		return nil, fmt.Errorf("backtest: lake %s holds no manifest: nothing was ever archived there (see --lake; with --brokers the events topic is read)", url)
	}
	return lake, nil
}

// parseBacktestTime reads an RFC 3339 time or a date (midnight UTC); "" is zero. The
// time must be within the years 0000 to 9999 in UTC, which the report's from and to
// are written in (RFC 3339): an offset can carry a time out of them
// (9999-12-31T23:30:00-01:00 is in year 10000), which failed only once the whole
// backtest had run.
func parseBacktestTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, s); err != nil {
			return time.Time{}, fmt.Errorf("backtest: %s %q is neither RFC 3339 (2026-01-02T15:04:05Z) nor a date (2026-01-02)", flag, s)
		}
	}
	if !rule.InRFC3339Years(t) {
		return time.Time{}, fmt.Errorf("backtest: %s %s is %s in UTC, outside the years 0000 to 9999 that the report's times (RFC 3339) are written in",
			flag, s, t.UTC().Format(time.RFC3339Nano))
	}
	return t, nil
}

func printBacktestProgress(w io.Writer, read, total int64, elapsed time.Duration) {
	pct, left := 100.0, ""
	if total > 0 {
		pct = 100 * float64(read) / float64(total)
	}
	if read > 0 && read < total {
		left = fmt.Sprintf(", %s left", (time.Duration(float64(elapsed) * float64(total-read) / float64(read))).Round(time.Second))
	}
	fmt.Fprintf(w, "\rbacktest: %d of %d rows (%.0f%%)%s   ", read, total, pct, left)
	if read >= total {
		fmt.Fprintln(w)
	}
}

// printBacktest writes rep as text: a line on what was read, a table of the rules, then
// each firing rule's days, customers and groups.
func printBacktest(w io.Writer, lakeURL string, rep *contract.Backtest) error {
	fmt.Fprintf(w, "backtest over lake %s (manifest v%d): %s, %s", lakeURL, rep.LakeVersion, plural(rep.Files, "file"), plural(rep.Rows, "row"))
	if rep.TailRecords > 0 {
		fmt.Fprintf(w, " and %s from Kafka", plural(rep.TailRecords, "record"))
	}
	fmt.Fprintf(w, ", %s", plural(rep.Events, "event"))
	if rep.Invalid > 0 {
		fmt.Fprintf(w, " (and %s)", plural(rep.Invalid, "live dead-letter"))
	}
	if rep.FirstEvent != nil {
		fmt.Fprintf(w, ", record times %s … %s", rep.FirstEvent.Format(time.RFC3339), rep.LastEvent.Format(time.RFC3339))
	}
	if rep.Customer != "" {
		fmt.Fprintf(w, ", customer %s", shown.Text(rep.Customer))
	}
	fmt.Fprintln(w)
	for _, m := range rep.Missing {
		fmt.Fprintf(w, "not counted: partition %d offsets %d–%d, %s\n", m.Partition, m.From, m.To, m.Reason)
	}
	if rep.EvalCutShort > 0 {
		fmt.Fprintf(w, "%s of rule paths ran out of their work budget (--max-rule-eval-work): rules may have missed those events, as live would\n",
			plural(rep.EvalCutShort, "evaluation"))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tVERSION\tMATCHES\tFIRINGS\tFIRST\tLAST")
	for _, r := range rep.Rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", shown.Text(r.Scope+"/"+r.ID), r.Version, r.Matches, r.Firings, ptrTimeOrDash(r.FirstFiring), ptrTimeOrDash(r.LastFiring))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rep.Rules {
		if r.Firings == 0 && r.Late == 0 && r.TimeErrors == 0 && r.Degraded == "" {
			continue
		}
		fmt.Fprintf(w, "\n%s v%d\n", shown.Text(r.Scope+"/"+r.ID), r.Version)
		if r.Firings > 0 {
			cut := ""
			if r.PerDayCut > 0 {
				cut = fmt.Sprintf(" (and %d firings of earlier days, past --max-days)", r.PerDayCut)
			}
			fmt.Fprintf(w, "  per day:       %s%s\n", joinCounts(r.PerDay), cut)
			fmt.Fprintf(w, "  top customers: %s%s\n", joinCounts(r.Customers), cutNote(len(r.Customers), r.CustomersTotal, r.RankingsCut != "", "customers"))
			groups := make([]string, len(r.Groups))
			for i, g := range r.Groups {
				groups[i] = fmt.Sprintf("%s %s %d", shown.Text(g.Customer), shown.JSON(string(g.Group)), g.Firings)
			}
			if len(r.Groups) > 0 && string(r.Groups[0].Group) != "null" {
				fmt.Fprintf(w, "  top groups:    %s%s\n", strings.Join(groups, ", "), cutNote(len(r.Groups), r.GroupsTotal, r.RankingsCut != "", "groups"))
			}
			if r.RankingsCut != "" {
				fmt.Fprintf(w, "  rankings cut:  %s\n", r.RankingsCut)
			}
		}
		if r.Late > 0 || r.TimeErrors > 0 {
			fmt.Fprintf(w, "  not counted:   %d late, %d without a usable time\n", r.Late, r.TimeErrors)
		}
		if r.Degraded != "" {
			fmt.Fprintf(w, "  degraded:      %s\n", r.Degraded)
		}
	}
	return nil
}

// cutNote says that a top list holds listed of total (a lower bound when the rankings
// are cut), "" when it holds them all: a list of ten must not read as everything.
func cutNote(listed, total int, lowerBound bool, what string) string {
	if total <= listed {
		return ""
	}
	atLeast := ""
	if lowerBound {
		atLeast = "at least "
	}
	return fmt.Sprintf(" (the %d most firing of %s%d %s)", listed, atLeast, total, what)
}

func joinCounts(cs []contract.BacktestCount) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %d", shown.Text(c.Key), c.Firings)
	}
	return strings.Join(parts, ", ")
}

// ptrTimeOrDash is timeOrDash of an optional time.
func ptrTimeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return timeOrDash(*t)
}
