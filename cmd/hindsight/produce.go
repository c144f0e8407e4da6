package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/lines"
	"github.com/hindsightdev/hindsight/internal/shown"
	"github.com/hindsightdev/hindsight/internal/verdict"
	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rulecheck"
)

// produceConfig configures `hindsight produce`.
type produceConfig struct {
	Kafka  ingest.KafkaConfig
	Topics ingest.Topics
	// Customer, when set, is every event's key; else CustomerPath selects it from each
	// event, or KeySeparator splits it off the front of each line (kcat -K).
	Customer     string
	CustomerPath string
	KeySeparator string
	// Rate is events per second; 0 sends as fast as the broker takes them.
	Rate float64
	// MaxLineBytes is the longest line read (lines.DefaultMax when 0).
	MaxLineBytes int
	// Quiet prints the summary only.
	Quiet bool
	// Out receives the events sent and the summary, Err the lines not sent (each an
	// error of the input, apart from the report). Defaults os.Stdout and os.Stderr.
	Out, Err io.Writer
}

// errSkipped is produce's error when some lines were not sent.
var errSkipped = errors.New("lines skipped")

func newProduceCmd() *cobra.Command {
	var (
		cfg         produceConfig
		maxCustomer int
	)
	cmd := &cobra.Command{
		Use:   "produce [FILE | -]",
		Short: "Send JSON events (one per line) to the events topic, keyed by customer",
		Long: `Send the events of FILE (or standard input, or "-"), one JSON object per line, to the
events topic. The customer is the record key: --customer for every event, or
--customer-path to take it from each event (default $.customer, as rules test reads
the same file), or --key-separator for lines of
KEY<sep>JSON as kcat -K writes them (the key as written, the JSON trimmed of JSON's
whitespace). A line that is not one JSON object, has no customer, or is refused by the
brokers as a record (larger than a batch or the topic's max.message.bytes), is reported
on standard error with its line number and not sent, and the lines after it are sent; the exit status is
then 1. Any other error of the brokers stops produce. Each event sent is printed with
its partition and offset (--quiet: the summary only). SIGINT or SIGTERM stops it: the
summary says how many events were sent and the line it stopped at, which was not sent,
nor any after it (send from that line on to finish); exit status 1.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyCustomerBytes(maxCustomer); err != nil {
				return err
			}
			cfg.Out, cfg.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			// The flags and the file before any broker is asked, as rules apply and
			// notify check their input: bad input is exit 2 naming it whether a broker
			// runs or not (it was "no broker answered" without one).
			path, err := cfg.customerPath()
			if err != nil {
				return err
			}
			in, closeIn, err := produceInput(cmd.InOrStdin(), args)
			if err != nil {
				return err
			}
			defer closeIn()
			if err := pingBrokers(cmd.Context(), cfg.Kafka, ""); err != nil {
				return err
			}
			return runProduce(cmd.Context(), cfg, path, in)
		},
	}
	f := cmd.Flags()
	addKafkaFlags(f, &cfg.Kafka, &cfg.Topics, defaultBrokers, topicEvents)
	f.StringVar(&cfg.Customer, "customer", "", "the customer (record key) of every event")
	f.StringVar(&cfg.CustomerPath, "customer-path", rulecheck.DefaultCustomerPath, "JSONPath of each event's customer, when --customer is not given (as rules test's)")
	// --key-path was this flag's name before rules test's --customer-path named the same thing.
	f.StringVar(&cfg.CustomerPath, "key-path", rulecheck.DefaultCustomerPath, "")
	_ = f.MarkDeprecated("key-path", "use --customer-path")
	f.StringVar(&cfg.KeySeparator, "key-separator", "", `lines are KEY<sep>JSON (as kcat -K<sep> writes them), e.g. "|"`)
	f.Float64Var(&cfg.Rate, "rate", 0, "events per second (0: as fast as the broker takes them)")
	f.BoolVar(&cfg.Quiet, "quiet", false, "print the summary only")
	addCustomerBytesFlag(f, &maxCustomer)
	addLineBytesFlag(f, &cfg.MaxLineBytes)
	return cmd
}

// customerPath checks the flags that say each event's key, and returns the parsed
// --customer-path when it is what keys the events (nil for --customer or
// --key-separator).
func (cfg *produceConfig) customerPath() (*jsonpath.Path, error) {
	if err := customerOrKeySeparator(cfg.Customer, cfg.KeySeparator); err != nil {
		return nil, err
	}
	if cfg.Customer != "" || cfg.KeySeparator != "" {
		return nil, nil
	}
	p, err := jsonpath.Parse(cfg.CustomerPath)
	if err != nil {
		return nil, usageError{fmt.Errorf("--customer-path: %w", err)}
	}
	return p, nil
}

// produceInput is what produce reads: the file args name, or stdin for none or "-".
// Whatever opens and is no directory is read as it is: a file, a named pipe, a shell's
// <(…), a device such as /dev/stdin. A directory opens as a file does and failed only
// when read, once the broker had answered, exit 1: it is refused here, as a missing
// file is, exit 2.
func produceInput(stdin io.Reader, args []string) (io.Reader, func(), error) {
	if len(args) == 0 || args[0] == "-" {
		return stdin, func() {}, nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, nil, usageError{fmt.Errorf("reading events: %w", err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("reading events: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, nil, usageError{fmt.Errorf("reading events: %w", &fs.PathError{Op: "open", Path: args[0], Err: syscall.EISDIR})}
	}
	return f, func() { f.Close() }, nil
}

// runProduce sends in's events, keyed by path's value in each when path is not nil;
// it returns errSkipped (after sending the others) when lines were not sent.
func runProduce(ctx context.Context, cfg produceConfig, path *jsonpath.Path, in io.Reader) error {
	cfg.Kafka.EnsureDefaults()
	cfg.Topics.EnsureDefaults()
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Err == nil {
		cfg.Err = os.Stderr
	}
	cl, err := cfg.Kafka.NewClient(kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	doc := jsonpath.NewDocument()
	// Read until ctx ends: a signal stops produce while its input (a pipe, a fifo) is
	// open and idle, not only between lines.
	in, release := lines.UntilDone(ctx, in)
	defer release()
	lr := lines.NewReader(in, cfg.MaxLineBytes)
	var sent, skipped int
	began := time.Now()
	customers := map[string]int{}
	summary := func() {
		fmt.Fprintf(cfg.Out, "%s sent to %s on %s (%s)", plural(sent, "event"), cfg.Topics.Events, strings.Join(cfg.Kafka.Brokers, ","), plural(len(customers), "customer"))
		if skipped > 0 {
			fmt.Fprintf(cfg.Out, "; %s not sent", plural(skipped, "line"))
		}
	}
	// interrupted ends a run stopped (a signal) before line: what was sent is in the
	// topic, and sending the input again would send it twice, so the summary says it
	// and where the run stopped. It had said only "context canceled".
	interrupted := func(line int) error {
		summary()
		fmt.Fprintf(cfg.Out, "; interrupted at line %d: it and the lines after it not sent\n", line)
		return fmt.Errorf("produce interrupted at line %d: %w", line, context.Cause(ctx))
	}
	for {
		b, line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && ctx.Err() != nil {
			return interrupted(line + 1) // waiting for that line
		}
		if tl := (*lines.TooLongError)(nil); errors.As(err, &tl) {
			fmt.Fprintf(cfg.Err, "line %d: %d bytes, more than --max-line-bytes %d; not sent\n", line, tl.Bytes, tl.Max)
			skipped++
			continue
		}
		if err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		// JSON's whitespace only makes a line blank.
		if len(bytes.Trim(b, jsonpath.Whitespace)) == 0 {
			continue
		}
		key, value := cfg.Customer, b
		if cfg.KeySeparator != "" {
			// The key as written, as kcat -K and rules test take it: trimmed, the line
			// "  c-1|{...}" was sent as customer "c-1", whose events rules test counted
			// as "  c-1"'s and kcat put in "  c-1"'s partition.
			k, v, ok := bytes.Cut(b, []byte(cfg.KeySeparator))
			if !ok {
				fmt.Fprintf(cfg.Err, "line %d: no %q between key and event; not sent\n", line, cfg.KeySeparator)
				skipped++
				continue
			}
			key, value = string(k), v
		}
		// JSON's whitespace only around the event, which is the same JSON without it: a
		// Unicode space around an event makes it no JSON, for live as for rules test, so
		// it is not sent.
		value = bytes.Trim(value, jsonpath.Whitespace)
		if err := doc.Reset(value); err != nil {
			fmt.Fprintf(cfg.Err, "line %d: not one JSON event (%v); not sent\n", line, err)
			skipped++
			continue
		}
		if len(value) == 0 || value[0] != '{' {
			fmt.Fprintf(cfg.Err, "line %d: an event is a JSON object; not sent\n", line)
			skipped++
			continue
		}
		if path != nil {
			vals := path.Eval(doc, nil)
			if len(vals) != 1 || vals[0].Kind() != jsonpath.KindString || vals[0].Str() == "" {
				fmt.Fprintf(cfg.Err, "line %d: no customer at %s (give --customer, or --customer-path); not sent\n", line, cfg.CustomerPath)
				skipped++
				continue
			}
			// A copy: Str is a view of the line, which the reader's next line
			// overwrites, and key is kept in customers (a view counted 300 events of 30
			// customers as 55 or 85).
			key = strings.Clone(vals[0].Str())
		}
		// What the events consumer would dead-letter is not sent: an empty key (a line
		// "|{...}" with --key-separator), or one that is not UTF-8.
		if reason, err := verdict.Accept(doc, []byte(key), value); reason != "" {
			fmt.Fprintf(cfg.Err, "line %d: live would dead-letter it (%s: %v); not sent\n", line, reason, err)
			skipped++
			continue
		}
		if cfg.Rate > 0 {
			select {
			case <-time.After(rateWait(began, sent, cfg.Rate)):
			case <-ctx.Done():
				return interrupted(line)
			}
		}
		rec := &kgo.Record{Topic: cfg.Topics.Events, Key: []byte(key), Value: bytes.Clone(value)}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				// The client fails a record on its context only before a request
				// carried it (an idempotent producer waits for the answer then): this
				// line was not sent.
				return interrupted(line)
			}
			if !recordRefused(err) {
				return fmt.Errorf("sending line %d: %w", line, err)
			}
			// This record's fault alone: the lines after it are sent, as after a line
			// over --max-line-bytes. produce stopped at it, the rest never sent.
			fmt.Fprintf(cfg.Err, "line %d: refused (%v); not sent\n", line, err)
			skipped++
			continue
		}
		sent++
		customers[key]++
		if !cfg.Quiet {
			// Through internal/shown as every report's customers: a --key-separator
			// key is whatever the line holds before the separator, spaces and escapes
			// included.
			fmt.Fprintf(cfg.Out, "sent %s/%d@%d  %s  %s\n", rec.Topic, rec.Partition, rec.Offset, shown.Text(key), shown.JSON(clipText(string(value), 100)))
		}
	}
	summary()
	fmt.Fprintln(cfg.Out)
	if skipped > 0 {
		return fmt.Errorf("%w: %d", errSkipped, skipped)
	}
	return nil
}

// rateWait is how long to wait, from now, before the event numbered sent (from 0) goes
// out at rate events a second from began. In seconds first: float64(sent)/rate
// seconds as a time.Duration overflowed past 292 years (--rate 1e-11, an event every
// 3,000 years), and the wait became a time past, so nothing waited; such a wait is the
// longest Duration.
func rateWait(began time.Time, sent int, rate float64) time.Duration {
	ns := (float64(sent)/rate - time.Since(began).Seconds()) * float64(time.Second)
	switch {
	case ns <= 0:
		return 0
	case ns >= math.MaxInt64:
		return math.MaxInt64
	}
	return time.Duration(ns)
}

// recordRefused reports whether err, a produce's, refuses that record alone, for its
// size or its content, as opposed to the connection or the brokers (unreachable, not
// authorized, the topic gone), which would refuse every line after it too.
func recordRefused(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge) || errors.Is(err, kerr.InvalidRecord)
}

// clipText shortens s to at most n runes, marking the cut.
func clipText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// customerOrKeySeparator refuses --customer with --key-separator: each line's key
// would win, and --customer be ignored without a word (produce and rules test read
// lines alike).
func customerOrKeySeparator(customer, sep string) error {
	if customer != "" && sep != "" {
		return usageError{errors.New("give --customer (every event's key) or --key-separator (each line's own key), not both")}
	}
	return nil
}
