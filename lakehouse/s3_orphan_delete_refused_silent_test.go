package lakehouse_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/internal/kafkatest"
	"github.com/hindsightdev/hindsight/internal/poll"
	"github.com/hindsightdev/hindsight/internal/s3test"
	"github.com/hindsightdev/hindsight/lakehouse"
	"github.com/hindsightdev/hindsight/lakehouse/lakehousetest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOrphanCollectionDeleteRefusedIsSilent: a maintenance pass (`hindsight lake
// compact`, and the archiver's own passes) over a store that refuses to delete (a
// credential without s3:DeleteObject, or a store shedding load) finds an orphan data
// file past the grace and fails to delete it. The pass reports success, counts
// nothing, and logs nothing at all: collectGarbage drops the Delete's error. Orphans
// then pile up for ever with no sign. (Deleting replaced files and pruning manifests
// under the same refusal do fail the pass.)
func TestOrphanCollectionDeleteRefusedIsSilent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		code   string
	}{
		{http.StatusForbidden, "AccessDenied"},
		{http.StatusServiceUnavailable, "SlowDown"},
	} {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			b := kafkatest.Start(t, kafkatest.Options{Partitions: 1})
			srv := s3test.Start(t, "lake")
			direct := lakehousetest.OpenBucket(t, srv.URL())
			lake := lakehouse.NewLake(direct, testLogger())
			archiveEvents(t, b, lake, archiverConfig(b, direct, "refused-"+tc.code), 7, 50)

			orphan := "data/p=0000/h=2020-01-01T00/00000000000000000000-00000000000000000009-deadbeef.parquet"
			if err := direct.Put(context.Background(), orphan, strings.NewReader("debris of a crashed writer")); err != nil {
				t.Fatal(err)
			}
			// The pass takes the orphan's date from the listing (to the millisecond), then
			// from a HEAD (to the second, so no later): past the grace in the listing is
			// past it in both. A grace of a second waited two here, for nothing the test
			// shows.
			const grace = 50 * time.Millisecond
			poll.Until(t, 30*time.Second, "the store to list the orphan older than the grace", func() bool {
				var listed time.Time
				if err := direct.List(context.Background(), orphan, func(a lakehouse.ObjectAttributes) error {
					listed = a.ModTime
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return !listed.IsZero() && time.Since(listed) > grace
			})

			// Every delete is refused, as S3 refuses a principal without
			// s3:DeleteObject (403 AccessDenied), or sheds load (503 SlowDown).
			proxy := srv.StartFaultyProxy(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method == http.MethodDelete || r.Method == http.MethodPost && r.URL.Query().Has("delete") {
					s3test.WriteError(w, tc.status, tc.code)
					return true
				}
				return false
			})

			var logs syncBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			rep, err := lakehouse.MaintainLake(context.Background(), proxy.URL(),
				lakehouse.MaintenanceConfig{OrphanGrace: grace, StoragePatience: 2 * time.Second}, lakehouse.StorageConfig{Logger: logger})
			if ok, _ := direct.Exists(context.Background(), orphan); !ok {
				t.Fatal("the orphan was deleted: the proxy let a delete through")
			}
			if err == nil && !strings.Contains(logs.String(), orphan) {
				t.Errorf("the pass could not delete orphan %s (every DELETE answered %d %s), yet it returned no error (report %+v) and logged nothing of it; log:\n%s",
					orphan, tc.status, tc.code, *rep, logs.String())
			}
		})
	}
}
