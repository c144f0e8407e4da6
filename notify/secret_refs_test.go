package notify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/internal/promtest"
	"github.com/hindsightdev/hindsight/internal/testlog"
	"github.com/hindsightdev/hindsight/notify"
	"github.com/hindsightdev/hindsight/rule"
)

// stageWithSecretFile makes a stage whose one destination "hook" signs with the secret
// file path, read from dir (--notify-secret-dir), and sends it one alert, "big-secret".
// It returns the stage (not run) and the receiver.
func stageWithSecretFile(t *testing.T, path, dir string, reg prometheus.Registerer) (*notify.Stage, *sink) {
	t.Helper()
	b := startBroker(t)
	rc := newSink(t, ok200)
	b.Produce(t, controlRecords(t, rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "hook", Type: rule.DestWebhook,
		URL: rc.srv.URL + "/hook", Secret: &rule.SecretRef{File: path}}))...)
	a := alertFor("big-secret", "c-1", []string{"hook"})
	v, _ := json.Marshal(a)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	st, err := notify.New(notify.Config{
		Kafka: ingest.KafkaConfig{Brokers: []string{b.Addr}}, Group: "secret-file",
		Sender:         notify.SenderConfig{Timeout: time.Second, MaxAttempts: 1, AllowPrivate: true},
		SecretDirs:     []string{dir},
		CommitInterval: 50 * time.Millisecond, Logger: testlog.New(t), Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, rc
}

// finalState waits up to d for alert id's delivery to name in st to be delivered or
// undelivered, and returns its state then.
func finalState(st *notify.Stage, id, name string, d time.Duration) contract.DestinationState {
	deadline := time.Now().Add(d)
	var ds contract.DestinationState
	for time.Now().Before(deadline) {
		for _, r := range st.Recent() {
			if r.Alert.AlertID != id {
				continue
			}
			for _, s := range r.Destinations {
				if s.Name == name {
					ds = s
				}
			}
		}
		if ds.State == contract.DeliveryDelivered || ds.State == contract.DeliveryUndelivered {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ds
}

// TestSecretFileIsBounded: a destination's secret (or url_from) names a file, and
// whoever may write controls writes it. A file of hundreds of MB (or /dev/zero,
// endless) was read whole into memory for every attempt: /dev/zero took the daemon
// down. The read is bounded (--notify-max-secret-bytes), and a secret over the bound
// makes the delivery undelivered with a reason that says so, counted as the limit
// reached, as the rules file's max_rules_file_bytes does for `rules apply`.
func TestSecretFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const size = 256 << 20 // sparse: no disk, but 256 MiB read into memory
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()

	reg := prometheus.NewRegistry()
	st, rc := stageWithSecretFile(t, path, dir, reg)
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	runStage(t, st)
	ds := finalState(st, "big-secret", "hook", 30*time.Second)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	if allocated >= size {
		t.Errorf("the stage allocated %d MiB to read a %d MiB secret file: the read of a secret is unbounded (/dev/zero would take the daemon down)",
			allocated>>20, size>>20)
	}
	if ds.State != contract.DeliveryUndelivered || !strings.Contains(ds.Reason, "secret") || !strings.Contains(ds.Reason, "--notify-max-secret-bytes") {
		t.Errorf("delivery with a %d MiB secret file: state %q reason %q (receiver saw %d requests); want undelivered, the reason naming the secret's size bound",
			size>>20, ds.State, ds.Reason, rc.requests())
	}
	if n := promtest.Value(t, reg, "hindsight_limit_reached_total", "name", notify.LimitMaxSecretBytes); n < 1 {
		t.Errorf("hindsight_limit_reached_total{name=%q} = %v, want the oversize secret counted", notify.LimitMaxSecretBytes, n)
	}
	if v := promtest.Value(t, reg, "hindsight_limit", "name", notify.LimitMaxSecretBytes); v != notify.DefaultMaxSecretBytes {
		t.Errorf("hindsight_limit{name=%q} = %v, want %d", notify.LimitMaxSecretBytes, v, notify.DefaultMaxSecretBytes)
	}
}

// TestSecretFileFIFOIsRefused: a secret file that is a FIFO (or any file whose open
// blocks: /dev/tty, a named pipe nobody writes) held the delivery for ever, before any
// attempt and outside every timeout: its state stayed "queued", nothing was recorded
// undelivered, its alerts' offset was never committed and, once --notify-max-pending
// alerts were read after it, reading stopped for every destination. A secret file is
// opened without blocking and refused unless regular: the delivery is undelivered with
// a reason.
func TestSecretFileFIFOIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal("mkfifo:", err)
	}
	st, _ := stageWithSecretFile(t, path, dir, nil)
	runStage(t, st)
	// Registered after runStage, so run before its cleanup: a writer opening the FIFO
	// lets a blocked read end, so that the stage can stop.
	t.Cleanup(func() {
		w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			w.Close()
		}
	})

	ds := finalState(st, "big-secret", "hook", 15*time.Second) // three times the sender's whole budget
	if ds.State != contract.DeliveryUndelivered {
		t.Errorf("delivery whose secret file is a FIFO: after 15 s (attempt timeout 1 s, one attempt) its state is %q, reason %q; want undelivered with a reason",
			ds.State, ds.Reason)
	}
	if !strings.Contains(ds.Reason, "not a regular file") {
		t.Errorf("delivery whose secret file is a FIFO: reason %q, want it to say the file is not a regular file", ds.Reason)
	}
}

// TestRoutingKeyCannotBeAnyProcessSecret: a destination names where its secret is,
// and whoever writes controls writes destinations (docs/notifications.md;
// --notify-allow-private exists because "a destination is written by whoever may edit
// controls"). For a pagerduty destination the secret is sent in clear, as routing_key
// in the body, to the destination's URL, which may be any public host. When any
// environment variable or file of the notifying process could be named, a controls
// writer read the daemon's own credentials: the lake's AWS_SECRET_ACCESS_KEY,
// HINDSIGHT_API_TOKEN, a Kubernetes service-account token file, by naming them as a
// routing key of a "pagerduty" destination at their own URL. Secrets come from what
// the operator set aside for destinations: variables of --notify-secret-env-prefix,
// files in --notify-secret-dir (none by default).
func TestRoutingKeyCannotBeAnyProcessSecret(t *testing.T) {
	const cred = "wJalrXUtnFEMI-K7MDENG-huntEXAMPLEKEY"
	t.Setenv("AWS_SECRET_ACCESS_KEY", cred)
	credFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(credFile, []byte(cred), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startBroker(t)
	var (
		mu     sync.Mutex
		bodies []string
	)
	rc := newSink(t, ok200)
	rc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(body))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	b.Produce(t, controlRecords(t,
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "pd", Type: rule.DestPagerDuty,
			URL: rc.srv.URL + "/v2/enqueue", Secret: &rule.SecretRef{Env: "AWS_SECRET_ACCESS_KEY"}}),
		rule.UpsertDestination(&rule.Destination{Scope: "*", Name: "pd-file", Type: rule.DestPagerDuty,
			URL: rc.srv.URL + "/v2/enqueue", Secret: &rule.SecretRef{File: credFile}}))...)
	a := alertFor("exfil", "c-1", []string{"pd", "pd-file"})
	v, _ := json.Marshal(a)
	b.Produce(t, &kgo.Record{Topic: "alerts", Key: []byte("c-1"), Value: v})
	st := oneAttemptStage(t, b, "secret-exfil", nil) // Getenv: os.Getenv; no secret directory
	runStage(t, st)
	for name, flag := range map[string]string{"pd": "--notify-secret-env-prefix", "pd-file": "--notify-secret-dir"} {
		ds := finalState(st, "exfil", name, 15*time.Second)
		if ds.State != contract.DeliveryUndelivered || !strings.Contains(ds.Reason, flag) || strings.Contains(ds.Reason, cred) {
			t.Errorf("destination %s naming the daemon's credential: state %q, reason %q; want undelivered, the reason naming %s (and not the secret)",
				name, ds.State, ds.Reason, flag)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, body := range bodies {
		if strings.Contains(body, cred) {
			t.Errorf("a pagerduty destination naming AWS_SECRET_ACCESS_KEY as its secret sent the daemon's credential to %s:\n%.300s", rc.srv.URL, body)
		}
	}
}
