package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/controls"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/rule"
)

// defaultRulesTimeout bounds a rules command that talks to Kafka.
const defaultRulesTimeout = 30 * time.Second

// rulesConfig configures the rules commands that talk to the controls topic.
type rulesConfig struct {
	Kafka  ingest.KafkaConfig
	Topics ingest.Topics
	// Out receives the report. Default os.Stdout.
	Out io.Writer
	// Timeout bounds each command's talk to Kafka, besides Wait. Default
	// defaultRulesTimeout.
	Timeout time.Duration
	// Wait, for apply and delete, is how long to wait for a daemon's control-status
	// records; 0 does not wait.
	Wait time.Duration
	// JSON makes list print JSON (as /v1/rules) instead of a table.
	JSON bool
	// SkipTests makes apply publish without running the rules' tests.
	SkipTests bool
	// AllowPrivate, for apply, accepts destination URLs on private addresses.
	AllowPrivate bool
}

// EnsureDefaults fills unset fields with their documented defaults.
func (c *rulesConfig) EnsureDefaults() {
	c.Kafka.EnsureDefaults()
	c.Topics.EnsureDefaults()
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.Timeout <= 0 {
		c.Timeout = defaultRulesTimeout
	}
}

// Validate reports configuration mistakes.
func (c *rulesConfig) Validate() error {
	if len(c.Kafka.Brokers) == 0 {
		return errors.New("no brokers: give --brokers or HINDSIGHT_BROKERS")
	}
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	return c.Topics.Validate()
}

// errNotApplied is returned when a daemon reported that a published control was not
// applied (invalid, stale or not found).
var errNotApplied = errors.New("control not applied")

// bound is a command's whole bound: Timeout for talking to Kafka and, for a command
// that waits for the daemon's statuses, Wait on top (a wait inside Timeout's bound
// ended at Timeout, and said it had waited Wait).
func (c *rulesConfig) bound() time.Duration { return c.Timeout + max(c.Wait, 0) }

// currentRules checks cfg and folds the controls topic as it is now, within
// cfg.bound(); the returned context carries that bound for what the command does next.
func currentRules(ctx context.Context, cfg *rulesConfig) (context.Context, context.CancelFunc, *controls.Registry, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.bound())
	recs, err := ingest.ReadControls(ctx, ingest.ControlsConfig{Kafka: cfg.Kafka, Topics: cfg.Topics, Logger: quietLogger})
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, cancel, controls.Fold(recs), nil
}

// applyRules validates the rules file, runs its rules' tests, and publishes an upsert for
// each rule that differs from the active one. Nothing is published unless every rule is
// valid and newer than (or equal to) the active version, and every test passes (unless
// cfg.SkipTests): errors name the file, line, rule and field, and match rule.ErrInvalid;
// failing tests are a *testsFailedError, after their report.
func applyRules(ctx context.Context, cfg rulesConfig, in *rulesToApply) error {
	file, f, rules := in.name, in.file, in.file.Rules
	ctx, cancel, cur, err := currentRules(ctx, &cfg)
	if err != nil {
		return err
	}
	defer cancel()
	var (
		publish   []*rule.Control
		unchanged []*rule.Rule
		errs      []error
		added     int // rules new to the fold
		// grown is the bytes of JSON the file's upserts add to the active rules', as the
		// fold applies them one by one in publish order; peak is its most on the way
		// (max_rules_bytes): a rule that grows before one that shrinks is refused.
		grown, peak int64
	)
	for i, r := range rules {
		active, ok := cur.Get(r.Key())
		if !ok {
			if old, ok := cur.Retired(r.Key()); ok && r.Version <= old {
				// The fold would take it, but its alerts would carry the deleted rule's
				// alert ids (made of the version), which consumers drop as duplicates.
				errs = append(errs, &rule.FileError{File: file, Index: i, ID: r.ID, Line: f.Lines[i],
					Err: fmt.Errorf("%w: version %d is not newer than version %d, the highest the deleted rule %s retired (a delete retires the version it deleted and the next, which an edit begun before the delete would publish): raise version to make it again, or its alerts repeat the deleted rule's alert ids",
						rule.ErrInvalid, r.Version, old, r.Key())})
				continue
			}
			publish = append(publish, rule.Upsert(r))
			added++
			b, _ := json.Marshal(r)
			grown += int64(len(b))
			peak = max(peak, grown)
			continue
		}
		a, _ := json.Marshal(active)
		b, _ := json.Marshal(r)
		switch {
		case bytes.Equal(a, b):
			unchanged = append(unchanged, r)
		case r.Version <= active.Version:
			errs = append(errs, &rule.FileError{File: file, Index: i, ID: r.ID, Line: f.Lines[i],
				Err: fmt.Errorf("%w: version %d differs from the active rule %s but is not newer than its version %d: raise version to replace it",
					rule.ErrInvalid, r.Version, r.Key(), active.Version)})
		default:
			publish = append(publish, rule.Upsert(r))
			grown += int64(len(b) - len(a))
			peak = max(peak, grown)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, r := range unchanged {
		fmt.Fprintf(cfg.Out, "unchanged  %s version %d\n", shown.Text(r.Key().String()), r.Version)
	}
	if err := checkRoom(file, cur, added, peak, in.notify); err != nil {
		return err
	}
	notifyPublish, err := notifyChanges(cfg, cur, in.notifyControls)
	if err != nil {
		return err
	}
	return publishAndReport(ctx, cfg, append(publish, notifyPublish...))
}

// rulesToApply is a rules file read and checked (its rules, its tests, and the
// destinations and mutes it may define next to them), before any broker is asked.
type rulesToApply struct {
	name           string
	file           *rule.RulesFile
	notify         *rule.NotifyFile
	notifyControls []*rule.Control
}

// readRulesToApply reads file and checks it as far as it can without the controls
// topic: a file whose rules are invalid, or whose tests fail, is not a candidate for
// publishing.
func readRulesToApply(cfg rulesConfig, file string) (*rulesToApply, error) {
	data, err := rule.ReadRulesFileBytes(file)
	if err != nil {
		return nil, err
	}
	f, err := rule.ParseRulesFileTests(file, data)
	if err != nil {
		return nil, err
	}
	if err := checkRuleTests(cfg, f); err != nil {
		return nil, err
	}
	nf, err := rule.ParseNotifyFile(file, data)
	if err != nil {
		return nil, err
	}
	if len(f.Rules) == 0 && len(nf.Destinations) == 0 && len(nf.Mutes) == 0 {
		// Nothing to publish, as an empty file has not ("rules: []" left by a bad
		// merge or template): refused as that file is, not applied in silence.
		return nil, fmt.Errorf("%w: %s: no rules (nor destinations or mutes) to apply", rule.ErrInvalid, file)
	}
	nc, err := notifyControls(nf, cfg.AllowPrivate)
	if err != nil {
		return nil, err
	}
	return &rulesToApply{name: file, file: f, notify: nf, notifyControls: nc}, nil
}

// checkRoom refuses a file whose new rules, destinations or mutes would take the fold
// cur past max_rules, max_destinations or max_mutes, or whose rules would grow the
// active rules' JSON by grown bytes past max_rules_bytes: the daemon, under the same
// limits, would take the first and reject the rest, leaving the file half applied.
func checkRoom(file string, cur *controls.Registry, newRules int, grown int64, nf *rule.NotifyFile) error {
	lim := rule.CurrentLimits()
	var errs []error
	full := func(what string, held, adding, limit int, name string) {
		if adding > 0 && held+adding > limit {
			errs = append(errs, fmt.Errorf("%w: %s adds %d %s to the %d defined, past the %d allowed (limit %s, flag --%s): the daemon would reject %d of them; delete some or raise the limit",
				rule.ErrInvalid, file, adding, what, held, limit, name, strings.ReplaceAll(name, "_", "-"), held+adding-limit))
		}
	}
	full("rules", cur.Len(), newRules, lim.MaxRules, rule.LimitRules)
	if held := cur.ActiveBytes(); grown > 0 && held+grown > int64(lim.MaxRulesBytes) {
		errs = append(errs, fmt.Errorf("%w: %s adds %d bytes of rules' JSON to the %d the active rules hold, past the %d allowed (limit %s, flag --%s): the daemon would reject some of them; delete some or raise the limit",
			rule.ErrInvalid, file, grown, held, lim.MaxRulesBytes, rule.LimitRulesBytes, strings.ReplaceAll(rule.LimitRulesBytes, "_", "-")))
	}
	dests := map[rule.Key]bool{}
	for _, d := range cur.Destinations() {
		dests[rule.Key{Scope: d.Scope, ID: d.Name}] = true
	}
	adding := 0
	for _, d := range nf.Destinations {
		if !dests[rule.Key{Scope: d.Scope, ID: d.Name}] {
			adding++
		}
	}
	full("destinations", len(dests), adding, lim.MaxDestinations, rule.LimitDestinations)
	if over := mutesRefused(cur.Mutes(), nf.Mutes, lim.MaxMutes, time.Now()); over > 0 {
		errs = append(errs, fmt.Errorf("%w: %s has mutes the daemon would reject (%d) past the %d allowed (limit %s, flag --max-mutes): delete some or raise the limit",
			rule.ErrInvalid, file, over, lim.MaxMutes, rule.LimitMutes))
	}
	return errors.Join(errs...)
}

// mutesRefused is how many of a file's mutes the fold would refuse, published now
// after cur, under limit: a mute in force at its record's time needs room, unless its
// key holds a mute in force then, and gets it while fewer than limit mutes are in
// force (controls.Registry.applyNotify).
func mutesRefused(cur, file []*rule.Mute, limit int, now time.Time) int {
	held := map[rule.Key]*rule.Mute{}
	for _, m := range cur {
		held[rule.Key{Scope: m.Scope, ID: m.ID}] = m
	}
	refused := 0
	for _, m := range file {
		k := rule.Key{Scope: m.Scope, ID: m.ID}
		if m.TakesRoom(held[k], now) && rule.MutesInForce(held, now) >= limit {
			refused++
			continue
		}
		held[k] = m
	}
	return refused
}

// checkRuleTests runs the tests of f's rules for apply. When one fails it prints the
// report and returns a *testsFailedError; cfg.SkipTests skips them, saying so.
func checkRuleTests(cfg rulesConfig, f *rule.RulesFile) error {
	if len(f.Tests) == 0 {
		return nil
	}
	if cfg.SkipTests {
		fmt.Fprintf(cfg.Out, "skipped    %s of %s (--skip-tests)\n", plural(len(f.Tests), "test"), f.Name)
		return nil
	}
	var report bytes.Buffer
	sum, err := runRuleTests(f, &report, false)
	if err != nil {
		return fmt.Errorf("running the tests of %s: %w", f.Name, err)
	}
	if err := sum.Err(f.Name); err != nil {
		if _, werr := cfg.Out.Write(report.Bytes()); werr != nil {
			return errors.Join(err, werr)
		}
		return err
	}
	fmt.Fprintf(cfg.Out, "tested     %s: %s passed\n", f.Name, plural(sum.Tests, "test"))
	return nil
}

// deleteRule publishes a delete for rule k. It fails without publishing when k is not
// an active rule: bad input (a usageError, exit status 2), unlike a published delete
// that a daemon did not apply, or whose status did not come within --wait (exit status
// 1, as for every other control published).
func deleteRule(ctx context.Context, cfg rulesConfig, k rule.Key) error {
	ctx, cancel, cur, err := currentRules(ctx, &cfg)
	if err != nil {
		return err
	}
	defer cancel()
	r, ok := cur.Get(k)
	if !ok {
		return usageError{fmt.Errorf("%w: no active rule %s (scope %q, id %q)", errNotApplied, k, k.Scope, k.ID)}
	}
	// The version seen active: the fold refuses a save of its next version landing
	// after this delete (a `rules apply` or console save racing it), and this delete
	// landing after a newer version.
	return publishAndReport(ctx, cfg, []*rule.Control{rule.DeleteVersion(k, r.Version)})
}

func publishAndReport(ctx context.Context, cfg rulesConfig, cs []*rule.Control) error {
	if len(cs) == 0 {
		return nil
	}
	var mark ingest.StatusMark
	if cfg.Wait > 0 {
		var err error
		if mark, err = ingest.MarkStatuses(ctx, cfg.Kafka, cfg.Topics); err != nil {
			return err
		}
	}
	offs, err := ingest.PublishControls(ctx, cfg.Kafka, cfg.Topics, cs)
	if err != nil {
		return err
	}
	want := map[string]int64{}
	for i, c := range cs {
		what := c.Op
		if c.Rule != nil {
			what = fmt.Sprintf("%s version %d", c.Op, c.Rule.Version)
		}
		fmt.Fprintf(cfg.Out, "published  %s %s (controls offset %d)\n", shown.Text(c.RecordKey()), what, offs[i])
		want[c.RecordKey()] = offs[i]
	}
	if cfg.Wait <= 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.Wait)
	defer cancel()
	got, err := ingest.WaitStatuses(wctx, cfg.Kafka, cfg.Topics, mark, want)
	var failed []string
	for _, c := range cs {
		st, ok := got[c.RecordKey()]
		k := shown.Text(c.RecordKey()) // a scope may hold an escape
		switch {
		case !ok:
			fmt.Fprintf(cfg.Out, "no status  %s within %v (is a daemon running?)\n", k, cfg.Wait)
			failed = append(failed, k+": no status")
		case st.Status != contract.ControlOK:
			fmt.Fprintf(cfg.Out, "%-10s %s: %s\n", shown.Text(st.Status), k, shown.Text(st.Message))
			failed = append(failed, k+": "+shown.Text(st.Status))
		case st.Message == controls.Unchanged:
			fmt.Fprintf(cfg.Out, "unchanged  %s\n", k)
		default:
			fmt.Fprintf(cfg.Out, "applied    %s\n", k)
		}
	}
	if len(failed) > 0 {
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("%w: %v", errNotApplied, failed)
	}
	return nil
}

// listRules prints the rules the controls topic makes active, and the controls it
// rejects, as the daemon would fold them.
func listRules(ctx context.Context, cfg rulesConfig) error {
	_, cancel, g, err := currentRules(ctx, &cfg)
	if err != nil {
		return err
	}
	defer cancel()
	list := g.List()
	rules, invalid := list.Rules, list.Invalid
	if cfg.JSON {
		enc := json.NewEncoder(cfg.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(cfg.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCOPE\tID\tVERSION\tTHRESHOLD\tNAME")
	for _, r := range rules {
		name := r.Name
		if name != "" {
			name = shown.Text(name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", shown.Text(r.Scope), shown.Text(r.ID), r.Version, r.Threshold, name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "%d active rules\n", len(rules))
	if len(invalid) > 0 || list.InvalidDropped > 0 {
		fmt.Fprintf(cfg.Out, "\n%d rejected controls", len(invalid))
		if list.InvalidDropped > 0 {
			// The listing keeps the newest --max-rejected-controls: it is not all of them.
			fmt.Fprintf(cfg.Out, " (the newest; %d older ones dropped past --max-rejected-controls)", list.InvalidDropped)
		}
		fmt.Fprintln(cfg.Out, ":")
		for _, ic := range invalid {
			key := shown.Text(ic.Key)
			if ic.KeyBytes > 0 { // the fold keeps a long key's first bytes only
				key += fmt.Sprintf("… (%d bytes)", ic.KeyBytes)
			}
			fmt.Fprintf(cfg.Out, "  offset %d key %s: %s\n", ic.Offset, key, shown.Text(ic.Error))
		}
	}
	return nil
}
