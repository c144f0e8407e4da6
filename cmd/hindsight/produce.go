package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/lines"
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
	Out   io.Writer
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
KEY<sep>JSON as kcat -K writes them. A line that is not one JSON object, or has no
customer, is reported with its line number and not sent; the exit status is then 1.
Each event sent is printed with its partition and offset (--quiet: the summary only).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd); err != nil {
				return usageError{err}
			}
			if err := applyCustomerBytes(maxCustomer); err != nil {
				return err
			}
			cfg.Out = cmd.OutOrStdout()
			in := cmd.InOrStdin()
			if len(args) == 1 && args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageError{fmt.Errorf("reading events: %w", err)}
				}
				defer f.Close()
				in = f
			}
			if err := pingBrokers(cmd.Context(), cfg.Kafka, ""); err != nil {
				return err
			}
			return runProduce(cmd.Context(), cfg, in)
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

// runProduce sends in's events; it returns errSkipped (after sending the others) when
// lines were not sent.
func runProduce(ctx context.Context, cfg produceConfig, in io.Reader) error {
	cfg.Kafka.EnsureDefaults()
	cfg.Topics.EnsureDefaults()
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if err := customerOrKeySeparator(cfg.Customer, cfg.KeySeparator); err != nil {
		return err
	}
	var path *jsonpath.Path
	if cfg.Customer == "" && cfg.KeySeparator == "" {
		p, err := jsonpath.Parse(cfg.CustomerPath)
		if err != nil {
			return usageError{fmt.Errorf("--customer-path: %w", err)}
		}
		path = p
	}
	cl, err := cfg.Kafka.NewClient(kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	doc := jsonpath.NewDocument()
	lr := lines.NewReader(in, cfg.MaxLineBytes)
	var sent, skipped int
	began := time.Now()
	customers := map[string]int{}
	for {
		b, line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if tl := (*lines.TooLongError)(nil); errors.As(err, &tl) {
			fmt.Fprintf(cfg.Out, "line %d: %d bytes, more than --max-line-bytes %d; not sent\n", line, tl.Bytes, tl.Max)
			skipped++
			continue
		}
		if err != nil {
			return fmt.Errorf("reading events: %w", err)
		}
		// JSON's whitespace only, as rules test reads lines: a Unicode space around an
		// event makes it no JSON, for live as for rules test, so it is not sent.
		text := bytes.Trim(b, jsonpath.Whitespace)
		if len(text) == 0 {
			continue
		}
		key, value := cfg.Customer, text
		if cfg.KeySeparator != "" {
			k, v, ok := bytes.Cut(text, []byte(cfg.KeySeparator))
			if !ok {
				fmt.Fprintf(cfg.Out, "line %d: no %q between key and event; not sent\n", line, cfg.KeySeparator)
				skipped++
				continue
			}
			key, value = string(k), bytes.Trim(v, jsonpath.Whitespace)
		}
		if err := doc.Reset(value); err != nil {
			fmt.Fprintf(cfg.Out, "line %d: not one JSON event (%v); not sent\n", line, err)
			skipped++
			continue
		}
		if len(value) == 0 || value[0] != '{' {
			fmt.Fprintf(cfg.Out, "line %d: an event is a JSON object; not sent\n", line)
			skipped++
			continue
		}
		if path != nil {
			vals := path.Eval(doc, nil)
			if len(vals) != 1 || vals[0].Kind() != jsonpath.KindString || vals[0].Str() == "" {
				fmt.Fprintf(cfg.Out, "line %d: no customer at %s (give --customer, or --customer-path); not sent\n", line, cfg.CustomerPath)
				skipped++
				continue
			}
			key = vals[0].Str()
		}
		// What the events consumer would dead-letter is not sent: an empty key (a line
		// "|{...}" with --key-separator), or one that is not UTF-8.
		if reason, err := verdict.Accept(doc, []byte(key), value); reason != "" {
			fmt.Fprintf(cfg.Out, "line %d: live would dead-letter it (%s: %v); not sent\n", line, reason, err)
			skipped++
			continue
		}
		if cfg.Rate > 0 {
			due := began.Add(time.Duration(float64(sent) / cfg.Rate * float64(time.Second)))
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		rec := &kgo.Record{Topic: cfg.Topics.Events, Key: []byte(key), Value: bytes.Clone(value)}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return fmt.Errorf("sending line %d: %w", line, err)
		}
		sent++
		customers[key]++
		if !cfg.Quiet {
			fmt.Fprintf(cfg.Out, "sent %s/%d@%d  %s  %s\n", rec.Topic, rec.Partition, rec.Offset, key, clipText(string(value), 100))
		}
	}
	fmt.Fprintf(cfg.Out, "%s sent to %s on %s (%s)", plural(sent, "event"), cfg.Topics.Events, strings.Join(cfg.Kafka.Brokers, ","), plural(len(customers), "customer"))
	if skipped > 0 {
		fmt.Fprintf(cfg.Out, "; %s not sent\n", plural(skipped, "line"))
		return fmt.Errorf("%w: %d", errSkipped, skipped)
	}
	fmt.Fprintln(cfg.Out)
	return nil
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
