package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/backfill"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/rule"
)

func newBackfillCmd() *cobra.Command {
	var (
		cfg    backfillConfig
		limits rule.Limits
	)
	cmd := &cobra.Command{
		Use:   "backfill (-f RULES | --rule SCOPE/ID…) [--customer C] [--at now|P:OFF,…]",
		Short: "Count rules over history: the lake through DuckDB, plus the tail from Kafka",
		Long: `Count rules over history: the lake through DuckDB, plus the tail from Kafka.

Exit status: 0 when the counts cover all history below the start offsets; 3 when part
of it is in neither the lake nor Kafka (the counts are printed, marked incomplete, and
the missing offsets are listed on stderr); 2 for bad usage; 1 for other errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyRuleLimits(limits); err != nil {
				return err
			}
			cfg.Out, cfg.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runBackfill(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	addKafkaFlags(f, &cfg.Kafka, &cfg.Topics, defaultBrokers, topicEvents|topicControls)
	f.StringVar(&cfg.LakeURL, "lake", defaultLake, "lake bucket URL (file://… or s3://…)")
	addStorageTimeoutFlag(f, &cfg.StorageTimeout)
	f.StringVarP(&cfg.RulesFile, "file", "f", "", "rules file, YAML or JSON")
	f.StringSliceVar(&cfg.Rules, "rule", nil, "live rule SCOPE/ID (or ID of a global rule), read from the controls topic; repeatable")
	f.StringVar(&cfg.Customer, "customer", "", "count only this customer")
	f.StringVar(&cfg.At, "at", "now", `start offsets: "now" (the events topic's committed end) or PARTITION:OFFSET,… (a partition of the topic or the lake left out is not counted: the counts are INCOMPLETE, exit status 3)`)
	f.BoolVar(&cfg.JSON, "json", false, "print the counts as JSON")
	f.StringVar(&cfg.CacheDir, "cache-dir", "hindsight-data/cache", "local cache of lake files (hindsight live's, by default)")
	f.Int64Var(&cfg.CacheMaxBytes, "cache-max-bytes", backfill.DefaultCacheMaxBytes, "bytes the cache may hold; the oldest files go first (0: the default)")
	addRuleLimitFlags(f, &limits)
	addBackfillMemoryFlag(f, &cfg.MemoryLimit)
	addBackfillSpillFlag(f, &cfg.MaxSpillBytes)
	f.IntVar(&cfg.MaxCustomers, "max-customers", backfill.DefaultMaxCustomers, "customers one rule's counts hold; matches of customers beyond are not counted, said so, and the exit status is 3 (0: the default; negative: no bound)")
	f.Int64Var(&cfg.MaxCustomerIDBytes, "max-customer-ids-bytes", backfill.DefaultMaxCustomerIDBytes, "bytes of customer ids one rule's counts hold, as --max-customers their number (negative: no bound)")
	return cmd
}

// backfillConfig is `hindsight backfill`: run jobs by hand and print their counts.
type backfillConfig struct {
	Kafka  ingest.KafkaConfig
	Topics ingest.Topics
	// LakeURL is the lake (see lakehouse.OpenBucket). Default defaultLake, the
	// archiver's default.
	LakeURL string
	// StorageTimeout bounds a request to the lake's storage that makes no progress
	// (lakehouse.StorageConfig.Timeout).
	StorageTimeout time.Duration
	// RulesFile backfills every rule of a rules file.
	RulesFile string
	// Rules backfills live rules, read from the controls topic, by SCOPE/ID (or ID for a
	// global rule).
	Rules []string
	// Customer limits the counts to one customer.
	Customer string
	// At is "now" (default: the events topic's committed end offsets, below any open
	// transaction, when the job starts) or
	// explicit start offsets "PARTITION:OFFSET,…".
	At string
	// JSON prints the counts as JSON instead of a table.
	JSON bool
	// CacheDir holds local copies of lake files (the flag's default is hindsight live's
	// cache); CacheMaxBytes bounds it (backfill.Config).
	CacheDir      string
	CacheMaxBytes int64
	// MemoryLimit bounds the memory DuckDB may use for one job (backfill.Config).
	MemoryLimit int64
	// MaxSpillBytes bounds what DuckDB may spill to disk for one job (backfill.Config).
	MaxSpillBytes int64
	// MaxCustomers and MaxCustomerIDBytes bound the customers one rule's counts hold
	// (backfill.Config).
	MaxCustomers       int
	MaxCustomerIDBytes int64
	// Out receives the counts, Err what they cover (what was read, skipped or missing,
	// README) and, on a terminal, the progress bar. Defaults os.Stdout and os.Stderr.
	Out, Err io.Writer
}

// countRow is one line of the command's output: a rule's count for a customer. A rule
// no customer matched has one row of count 0, for --customer's customer, a customer's
// rule's own, or customer "" (- in the table), so that every rule counted is in the
// output with what is known of its history.
type countRow struct {
	RuleID    string `json:"rule_id"`
	Scope     string `json:"scope"`
	Version   int64  `json:"version"`
	Customer  string `json:"customer"`
	Count     int64  `json:"count"`
	Threshold int64  `json:"threshold"`
	Reached   bool   `json:"reached"`
	// Incomplete: part of the history below the start offsets was in neither the lake
	// nor Kafka, or in a partition --at left out (listed on stderr); Count lacks it.
	Incomplete bool `json:"incomplete,omitempty"`
	// Truncated: retention dropped the oldest history (listed on stderr); Count covers
	// what the lake, and Kafka when asked, still held, as live's counts would.
	Truncated bool `json:"truncated,omitempty"`
}

// errIncomplete is the command's verdict when some history could not be read: the
// counts are printed, and the exit status (3) says they are short.
type errIncomplete struct{ rules []string }

func (e errIncomplete) Error() string {
	return fmt.Sprintf("backfill: history incomplete for %s: the counts lack what is listed as INCOMPLETE above", strings.Join(e.rules, ", "))
}

func (errIncomplete) ExitCode() int { return 3 }

// runBackfill resolves the rules and start offsets, runs one job per rule and prints the counts.
func runBackfill(ctx context.Context, cfg backfillConfig) error {
	cfg.Kafka.EnsureDefaults()
	cfg.Topics.EnsureDefaults()
	if cfg.LakeURL == "" {
		cfg.LakeURL = defaultLake
	}
	if err := checkBucketFlag("lake", cfg.LakeURL); err != nil {
		return err
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Err == nil {
		cfg.Err = os.Stderr
	}
	if cfg.RulesFile == "" && len(cfg.Rules) == 0 {
		return usageError{errors.New("backfill: name a rules file (-f) or live rules (--rule SCOPE/ID)")}
	}
	if cfg.Customer != "" {
		// Live's check of a record key, as backtest's: a customer it would dead-letter
		// has no event in history, and a count of 0 would read as a customer who sent
		// nothing (a mistyped or truncated id).
		if _, err := verdict.CheckCustomer([]byte(cfg.Customer)); err != nil {
			return usageError{fmt.Errorf("backfill: --customer: %w: live dead-letters such a record key, so history holds no event of it", err)}
		}
	}
	// The file before any broker is asked, as rules apply reads its file: bad input is
	// exit 2 naming it whether a broker answers or not.
	var fileRules []*rule.Rule
	if cfg.RulesFile != "" {
		rs, err := rule.ReadRulesFile(cfg.RulesFile)
		if err != nil {
			return rulesFileError(err)
		}
		fileRules = rs
	}
	if len(cfg.Kafka.Brokers) > 0 {
		if err := pingBrokers(ctx, cfg.Kafka, "--brokers '' with --at PARTITION:OFFSET,… to read the lake alone"); err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
	}
	rules, err := resolveRules(ctx, cfg, fileRules)
	if err != nil {
		return err
	}
	if len(rules) == 0 { // a file's list of none ([], or rules: [] beside destinations)
		return usageError{fmt.Errorf("backfill: %s: no rules", cfg.RulesFile)}
	}
	start, err := resolveStart(ctx, cfg)
	if err != nil {
		return err
	}
	lake, err := lakehouse.OpenExistingLake(ctx, cfg.LakeURL, lakehouse.StorageConfig{Timeout: cfg.StorageTimeout, Logger: quietLogger})
	if err != nil {
		return fmt.Errorf("backfill: opening lake %s: %w", cfg.LakeURL, err)
	}
	defer lake.Close()
	var unnamed []int32
	if cfg.At != "now" {
		if unnamed, err = unnamedPartitions(ctx, cfg, lake, start); err != nil {
			return err
		}
	}
	// Without brokers the lake is read alone (the advice of pingBrokers above).
	var kopts []kgo.Opt
	if len(cfg.Kafka.Brokers) > 0 {
		if kopts, err = cfg.Kafka.Opts(); err != nil {
			return usageError{fmt.Errorf("backfill: %w", err)}
		}
	}
	bar := &progressBar{w: cfg.Err}
	var progress func(backfill.Progress)
	if f, ok := cfg.Err.(*os.File); ok && isTerminal(f) {
		progress = bar.update // a redrawn line means nothing in a file or a pipe
	}
	runner, err := backfill.NewRunner(backfill.Config{Lake: lake, CacheDir: cfg.CacheDir, CacheMaxBytes: cfg.CacheMaxBytes, MemoryLimit: cfg.MemoryLimit, MaxSpillBytes: cfg.MaxSpillBytes, Brokers: cfg.Kafka.Brokers, KafkaOpts: kopts,
		Topic: cfg.Topics.Events, Progress: progress, MaxCustomers: cfg.MaxCustomers, MaxCustomerIDBytes: cfg.MaxCustomerIDBytes, Logger: quietLogger})
	if err != nil {
		return err
	}
	defer runner.Close()
	var (
		out        []countRow
		incomplete []string
	)
	// A windowed or grouped rule's history is a state, not counts: it is left out, and
	// said so; a file of nothing else is an error.
	counted := rules[:0:0]
	for _, r := range rules {
		if r.Plain() {
			counted = append(counted, r)
			continue
		}
		fmt.Fprintf(cfg.Err, "skipped %s: it has group_by, a window or an aggregate other than count, so its history is a state, not counts (hindsight backtest shows how often it would have fired; live hands it its history when applied)\n", shown.Text(r.Key().String()))
	}
	if len(counted) == 0 {
		return usageError{errors.New("backfill: no rule to count: every rule named has group_by, a window or an aggregate other than count (hindsight backtest shows how often they would have fired)")}
	}
	rules = counted
	asOf := time.Now()
	for _, r := range rules {
		key := shown.Text(r.Key().String())
		bar.label = key
		res, err := runner.Run(ctx, backfill.Job{Rule: r, Start: start, AsOf: asOf, Customer: cfg.Customer})
		bar.done()
		if err != nil {
			return err
		}
		fmt.Fprintf(cfg.Err, "%s: %s, %s, %s from Kafka in %s\n", key, plural(res.Files, "file"), plural(res.Rows, "row"),
			plural(res.TailRecords, "tail record"), res.Elapsed.Round(time.Millisecond))
		if len(res.Truncated) > 0 {
			held := make([]string, len(res.Truncated))
			for i, tr := range res.Truncated {
				held[i] = fmt.Sprintf("partition %d from offset %d", tr.Partition, tr.From)
			}
			where := "the lake and Kafka still hold"
			if len(cfg.Kafka.Brokers) == 0 {
				where = "the lake still holds (Kafka was not asked: no --brokers)"
			}
			fmt.Fprintf(cfg.Err, "%s: retention dropped the oldest history: counts cover what %s, %s\n", key, where, strings.Join(held, ", "))
		}
		if res.EvalCutShort > 0 {
			fmt.Fprintf(cfg.Err, "%s: %s of the rule's condition ran out of their work budget (--max-rule-eval-work): the counts may lack those events, as live's would\n",
				key, plural(res.EvalCutShort, "evaluation"))
		}
		for _, g := range res.Missing {
			held := "neither the lake nor Kafka holds them"
			if len(cfg.Kafka.Brokers) == 0 {
				held = "the lake does not hold them, and Kafka was not asked (no --brokers)"
			}
			fmt.Fprintf(cfg.Err, "%s: INCOMPLETE: %s: %s, the counts lack them\n", key, g, held)
		}
		if res.Refused > 0 {
			limit := fmt.Sprintf("--max-customers (%d)", cfg.MaxCustomers)
			if res.RefusedBy == backfill.LimitMaxCustomerIDBytes {
				limit = fmt.Sprintf("--max-customer-ids-bytes (%d)", cfg.MaxCustomerIDBytes)
			}
			fmt.Fprintf(cfg.Err, "%s: INCOMPLETE: %d matches of customers beyond %s not counted: the %s listed are whole, others are missing\n",
				key, res.Refused, limit, plural(len(res.Counts), "customer"))
		}
		if len(unnamed) > 0 {
			fmt.Fprintf(cfg.Err, "%s: INCOMPLETE: %s not named in --at, so not counted: the counts lack the events there (a customer's events are in one partition: its count is 0)\n",
				key, partitionList(unnamed))
		}
		short := res.Incomplete() || len(unnamed) > 0
		if short || res.Refused > 0 {
			incomplete = append(incomplete, key)
		}
		customers := slices.Sorted(func(yield func(string) bool) {
			for c := range res.Counts {
				if !yield(c) {
					return
				}
			}
		})
		if len(customers) == 0 {
			// The customer asked for, else a customer's rule's own customer.
			c := cfg.Customer
			if c == "" && !r.Global() {
				c = r.Scope
			}
			customers = []string{c}
		}
		for _, c := range customers {
			n := res.Counts[c]
			out = append(out, countRow{RuleID: r.ID, Scope: r.Scope, Version: r.Version, Customer: c, Count: n, Threshold: r.Threshold.Count(), Reached: n >= r.Threshold.Count(),
				Incomplete: short, Truncated: len(res.Truncated) > 0})
		}
	}
	if cfg.JSON {
		enc := json.NewEncoder(cfg.Out)
		enc.SetIndent("", "  ")
		if out == nil {
			out = []countRow{}
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(cfg.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE\tVERSION\tCUSTOMER\tCOUNT\tTHRESHOLD\tREACHED")
		for _, row := range out {
			count := strconv.FormatInt(row.Count, 10)
			if row.Incomplete {
				count += " (incomplete)"
			}
			reached := "no"
			if row.Reached {
				reached = "yes"
			}
			customer := "-"
			if row.Customer != "" {
				customer = shown.Text(row.Customer)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", shown.Text(row.Scope+"/"+row.RuleID), row.Version, customer, count, row.Threshold, reached)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(incomplete) > 0 {
		return errIncomplete{rules: incomplete}
	}
	return nil
}

// resolveRules is the rules to backfill: the file's (read already) and the live rules
// cfg.Rules names, read from the controls topic. A rule in both, at the same version, is
// counted once (twice, each of its rows was printed twice); the same version defined
// differently in the two is refused, as the counts of one would be printed for both.
func resolveRules(ctx context.Context, cfg backfillConfig, rules []*rule.Rule) ([]*rule.Rule, error) {
	if len(cfg.Rules) == 0 {
		return rules, nil
	}
	if len(cfg.Kafka.Brokers) == 0 {
		return nil, usageError{errors.New("backfill: live rules are read from the controls topic: give --brokers")}
	}
	recs, err := ingest.ReadControls(ctx, ingest.ControlsConfig{Kafka: cfg.Kafka, Topics: cfg.Topics, Logger: quietLogger})
	if err != nil {
		return nil, fmt.Errorf("backfill: reading live rules: %w", err)
	}
	live, err := backfill.LiveRules(controls.Fold(recs), cfg.Rules)
	if err != nil {
		return nil, err
	}
	type version struct {
		key     rule.Key
		version int64
	}
	inFile := make(map[version]*rule.Rule, len(rules))
	for _, r := range rules {
		inFile[version{r.Key(), r.Version}] = r
	}
	for _, r := range live {
		f, dup := inFile[version{r.Key(), r.Version}]
		if !dup {
			rules = append(rules, r)
			continue
		}
		a, _ := json.Marshal(f)
		b, _ := json.Marshal(r)
		if !bytes.Equal(a, b) {
			return nil, usageError{fmt.Errorf("backfill: rule %s version %d is in %s (-f) and live on %s (--rule), defined differently: name it in one place, or raise the file's version",
				r.Key(), r.Version, cfg.RulesFile, cfg.Topics.Controls)}
		}
	}
	return rules, nil
}

func resolveStart(ctx context.Context, cfg backfillConfig) (map[int32]int64, error) {
	if cfg.At != "" && cfg.At != "now" {
		start := map[int32]int64{}
		for _, part := range strings.Split(cfg.At, ",") {
			p, o, ok := strings.Cut(strings.TrimSpace(part), ":")
			pn, err1 := strconv.ParseInt(p, 10, 32)
			on, err2 := strconv.ParseInt(o, 10, 64)
			if !ok || err1 != nil || err2 != nil || pn < 0 || on < 0 {
				return nil, usageError{fmt.Errorf("backfill: --at %q: want now or PARTITION:OFFSET,…", cfg.At)}
			}
			if prev, dup := start[int32(pn)]; dup {
				return nil, usageError{fmt.Errorf("backfill: --at %q: partition %d is given twice (offsets %d and %d): one start per partition", cfg.At, pn, prev, on)}
			}
			start[int32(pn)] = on
		}
		return start, nil
	}
	if len(cfg.Kafka.Brokers) == 0 {
		return nil, usageError{errors.New("backfill: --at now reads the events topic's end offsets: give --brokers, or explicit --at PARTITION:OFFSET,…")}
	}
	cl, err := cfg.Kafka.NewClient()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	// The committed end, as live reads: an open transaction's events are not counted yet.
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(ctx, cfg.Topics.Events)
	if err != nil {
		return nil, fmt.Errorf("backfill: listing the committed end offsets of %s: %w", cfg.Topics.Events, err)
	}
	start := map[int32]int64{}
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			lerr = o.Err
		}
		start[o.Partition] = o.Offset
	})
	if lerr != nil {
		return nil, fmt.Errorf("backfill: listing the committed end offsets of %s: %w", cfg.Topics.Events, lerr)
	}
	return start, nil
}

// unnamedPartitions lists the events partitions that hold history, as the lake and
// Kafka (when asked) know them, that an explicit --at leaves out. A job reads only the partitions it is
// given, so the events there count nowhere: a customer whose events are there (all of
// them: a customer's events are in one partition) was printed with a count of 0,
// exit status 0, and nothing said so.
func unnamedPartitions(ctx context.Context, cfg backfillConfig, lake *lakehouse.Lake, start map[int32]int64) ([]int32, error) {
	known := map[int32]bool{}
	snap, err := lake.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("backfill: listing the lake's partitions: %w", err)
	}
	for _, ps := range snap.Partitions() {
		known[ps.Partition] = true
	}
	if len(cfg.Kafka.Brokers) > 0 {
		cl, err := cfg.Kafka.NewClient()
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		ends, err := adm.ListEndOffsets(ctx, cfg.Topics.Events)
		if err == nil {
			err = ends.Error()
		}
		var starts kadm.ListedOffsets
		if err == nil {
			if starts, err = adm.ListStartOffsets(ctx, cfg.Topics.Events); err == nil {
				err = starts.Error()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("backfill: listing the partitions of %s: %w", cfg.Topics.Events, err)
		}
		// A partition whose log holds nothing (and the lake nothing of) has nothing to
		// count: leaving it out loses nothing.
		ends.Each(func(o kadm.ListedOffset) {
			if st, ok := starts.Lookup(o.Topic, o.Partition); !ok || st.Offset < o.Offset {
				known[o.Partition] = true
			}
		})
	}
	var out []int32
	for p := range known {
		if _, ok := start[p]; !ok {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

// partitionList names partitions ps: "partition 1", "partitions 1, 2".
func partitionList(ps []int32) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(int(p))
	}
	if len(ps) == 1 {
		return "partition " + s[0]
	}
	return "partitions " + strings.Join(s, ", ")
}

// progressBar draws one updating line: files, rows, rate and ETA.
type progressBar struct {
	w     io.Writer
	label string
	drawn bool
}

func (b *progressBar) update(p backfill.Progress) {
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.RowsScanned+p.TailRecords) / s
	}
	eta := "?"
	if p.FilesDone > 0 && p.FilesDone < p.FilesTotal {
		eta = (time.Duration(float64(p.Elapsed) / float64(p.FilesDone) * float64(p.FilesTotal-p.FilesDone))).Round(100 * time.Millisecond).String()
	} else if p.FilesDone == p.FilesTotal {
		eta = "0s"
	}
	width := 24
	filled := width
	if p.FilesTotal > 0 {
		filled = width * p.FilesDone / p.FilesTotal
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] files %d/%d  rows %d  tail %d  %.0f rows/s  ETA %s   ", b.label,
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), p.FilesDone, p.FilesTotal, p.RowsScanned, p.TailRecords, rate, eta)
	b.drawn = true
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}
