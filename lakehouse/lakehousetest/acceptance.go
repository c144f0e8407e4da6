// Package lakehousetest holds the acceptance test that every lakehouse.Bucket
// implementation must pass (the Bucket interface's comments, checked), and the buckets
// that tests of the lake open.
package lakehousetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// AcceptanceTest checks bkt against the Bucket contract. It works under a fresh random
// prefix, so bkt may hold other objects; it does not close bkt.
func AcceptanceTest(t *testing.T, bkt lakehouse.Bucket) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pre := "acceptance-" + randHex(6) + "/"

	t.Run("missing", func(t *testing.T) {
		name := pre + "missing/obj"
		if _, err := bkt.Get(ctx, name); !errors.Is(err, lakehouse.ErrNotFound) {
			t.Errorf("Get of a missing object: err = %v, want ErrNotFound", err)
		}
		if _, err := bkt.Attributes(ctx, name); !errors.Is(err, lakehouse.ErrNotFound) {
			t.Errorf("Attributes of a missing object: err = %v, want ErrNotFound", err)
		}
		if err := bkt.Delete(ctx, name); !errors.Is(err, lakehouse.ErrNotFound) {
			t.Errorf("Delete of a missing object: err = %v, want ErrNotFound", err)
		}
		ok, err := bkt.Exists(ctx, name)
		if err != nil || ok {
			t.Errorf("Exists of a missing object = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("put-get-overwrite-delete", func(t *testing.T) {
		name := pre + "a/b/c.parquet"
		before := time.Now().Add(-time.Minute)
		mustPut(t, ctx, bkt, name, []byte("first version"))
		if got := mustGet(t, ctx, bkt, name); string(got) != "first version" {
			t.Fatalf("Get = %q, want %q", got, "first version")
		}
		attrs, err := bkt.Attributes(ctx, name)
		if err != nil {
			t.Fatalf("Attributes: %v", err)
		}
		if attrs.Size != int64(len("first version")) {
			t.Errorf("Attributes.Size = %d, want %d", attrs.Size, len("first version"))
		}
		if attrs.ModTime.Before(before) || attrs.ModTime.After(time.Now().Add(time.Minute)) {
			t.Errorf("Attributes.ModTime = %v, not around now", attrs.ModTime)
		}
		if ok, err := bkt.Exists(ctx, name); err != nil || !ok {
			t.Errorf("Exists = %v, %v; want true, nil", ok, err)
		}
		mustPut(t, ctx, bkt, name, []byte("v2"))
		if got := mustGet(t, ctx, bkt, name); string(got) != "v2" {
			t.Fatalf("Get after overwrite = %q, want %q", got, "v2")
		}
		if err := bkt.Delete(ctx, name); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := bkt.Get(ctx, name); !errors.Is(err, lakehouse.ErrNotFound) {
			t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("empty-and-large", func(t *testing.T) {
		mustPut(t, ctx, bkt, pre+"empty", nil)
		if got := mustGet(t, ctx, bkt, pre+"empty"); len(got) != 0 {
			t.Errorf("empty object came back with %d bytes", len(got))
		}
		// Larger than one S3 multipart part, so multipart uploads are covered.
		big := make([]byte, 21<<20+17)
		_, _ = rand.Read(big)
		mustPut(t, ctx, bkt, pre+"big", big)
		if got := mustGet(t, ctx, bkt, pre+"big"); !bytes.Equal(got, big) {
			t.Errorf("large object: got %d bytes, want %d identical bytes", len(got), len(big))
		}
	})

	t.Run("put-if-absent", func(t *testing.T) {
		name := pre + "manifest/v000000000001.json"
		if err := bkt.PutIfAbsent(ctx, name, bytes.NewReader([]byte("winner"))); err != nil {
			t.Fatalf("PutIfAbsent of a new name: %v", err)
		}
		err := bkt.PutIfAbsent(ctx, name, bytes.NewReader([]byte("loser")))
		if !errors.Is(err, lakehouse.ErrExists) {
			t.Fatalf("PutIfAbsent of a taken name: err = %v, want ErrExists", err)
		}
		if got := mustGet(t, ctx, bkt, name); string(got) != "winner" {
			t.Errorf("PutIfAbsent that lost changed the object to %q", got)
		}
	})

	t.Run("put-if-absent-race", func(t *testing.T) {
		for round := range 5 {
			name := fmt.Sprintf("%srace/v%03d", pre, round)
			const racers = 8
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					errs[i] = bkt.PutIfAbsent(ctx, name, bytes.NewReader([]byte(fmt.Sprintf("racer-%d", i))))
				})
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("round %d: racers %d and %d both won PutIfAbsent", round, winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, lakehouse.ErrExists):
					t.Fatalf("round %d: racer %d: err = %v, want nil or ErrExists", round, i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no racer won PutIfAbsent", round)
			}
			if got := mustGet(t, ctx, bkt, name); string(got) != fmt.Sprintf("racer-%d", winner) {
				t.Errorf("round %d: object = %q, want racer-%d's content", round, got, winner)
			}
		}
	})

	t.Run("failed-put-leaves-nothing", func(t *testing.T) {
		name := pre + "atomic/obj"
		half := &failingReader{r: bytes.NewReader(bytes.Repeat([]byte("x"), 1<<20)), after: 300 << 10}
		if err := bkt.Put(ctx, name, half); err == nil {
			t.Fatal("Put with a reader that fails returned nil")
		}
		if ok, _ := bkt.Exists(ctx, name); ok {
			t.Fatal("a failed Put of a new name left an object")
		}
		mustPut(t, ctx, bkt, name, []byte("intact"))
		half = &failingReader{r: bytes.NewReader(bytes.Repeat([]byte("y"), 1<<20)), after: 300 << 10}
		if err := bkt.Put(ctx, name, half); err == nil {
			t.Fatal("Put with a reader that fails returned nil")
		}
		if got := mustGet(t, ctx, bkt, name); string(got) != "intact" {
			t.Errorf("a failed Put changed the object to %d bytes", len(got))
		}
		if err := bkt.PutIfAbsent(ctx, pre+"atomic/new", &failingReader{r: bytes.NewReader(make([]byte, 1<<20)), after: 1000}); err == nil {
			t.Fatal("PutIfAbsent with a reader that fails returned nil")
		}
		if ok, _ := bkt.Exists(ctx, pre+"atomic/new"); ok {
			t.Fatal("a failed PutIfAbsent left an object")
		}
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		if err := bkt.Put(cctx, pre+"atomic/cancelled", bytes.NewReader([]byte("no"))); err == nil {
			if ok, _ := bkt.Exists(ctx, pre+"atomic/cancelled"); ok {
				t.Log("Put with a cancelled context may succeed; it must then be complete")
				if got := mustGet(t, ctx, bkt, pre+"atomic/cancelled"); string(got) != "no" {
					t.Errorf("cancelled Put left partial content %q", got)
				}
			}
		}
	})

	t.Run("readers-never-see-partial", func(t *testing.T) {
		name := pre + "swap/obj"
		a := bytes.Repeat([]byte("A"), 2<<20)
		b := bytes.Repeat([]byte("B"), 2<<20+1)
		mustPut(t, ctx, bkt, name, a)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var mu sync.Mutex
		var bad []string
		reads := 0
		for range 3 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					got := mustGet(t, ctx, bkt, name)
					mu.Lock()
					reads++
					if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
						bad = append(bad, fmt.Sprintf("%d bytes", len(got)))
					}
					mu.Unlock()
				}
			})
		}
		// At least 10 overwrites, and more until the readers have completed a few reads
		// among them (a loaded machine may not schedule them at once), at most 1,000.
		readsSoFar := func() int {
			mu.Lock()
			defer mu.Unlock()
			return reads
		}
		for i := 0; i < 1000 && (i < 10 || readsSoFar() < 3); i++ {
			if i%2 == 0 {
				mustPut(t, ctx, bkt, name, b)
			} else {
				mustPut(t, ctx, bkt, name, a)
			}
		}
		close(stop)
		wg.Wait()
		if len(bad) > 0 {
			t.Fatalf("readers saw %d partial or mixed objects, e.g. %s", len(bad), bad[0])
		}
		if reads == 0 {
			t.Fatal("no read completed during the overwrites")
		}
	})

	t.Run("list", func(t *testing.T) {
		lp := pre + "list/"
		names := []string{lp + "b/2", lp + "a", lp + "b/1", lp + "c/d/e/f", lp + "a.b", lp + "b=x/1"}
		for i, n := range names {
			mustPut(t, ctx, bkt, n, bytes.Repeat([]byte{'z'}, i+1))
		}
		mustPut(t, ctx, bkt, pre+"listx", []byte("outside the prefix"))
		var got []lakehouse.ObjectAttributes
		if err := bkt.List(ctx, lp, func(a lakehouse.ObjectAttributes) error { got = append(got, a); return nil }); err != nil {
			t.Fatalf("List: %v", err)
		}
		want := []string{lp + "a", lp + "a.b", lp + "b/1", lp + "b/2", lp + "b=x/1", lp + "c/d/e/f"}
		if len(got) != len(want) {
			t.Fatalf("List returned %d objects %v, want %v", len(got), got, want)
		}
		size := map[string]int64{}
		for i, n := range names {
			size[n] = int64(i + 1)
		}
		for i := range want {
			if got[i].Name != want[i] {
				t.Errorf("List[%d] = %q, want %q (ascending byte order)", i, got[i].Name, want[i])
			}
			if got[i].Size != size[want[i]] {
				t.Errorf("List[%d].Size = %d, want %d", i, got[i].Size, size[want[i]])
			}
		}
		stopErr := errors.New("stop here")
		n := 0
		err := bkt.List(ctx, lp, func(lakehouse.ObjectAttributes) error { n++; return stopErr })
		if !errors.Is(err, stopErr) || n != 1 {
			t.Errorf("List with fn failing: err = %v after %d calls, want stopErr after 1", err, n)
		}
		n = 0
		if err := bkt.List(ctx, pre+"nothing-here/", func(lakehouse.ObjectAttributes) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("List of an empty prefix: %d objects, err %v", n, err)
		}
	})

	t.Run("invalid-names", func(t *testing.T) {
		// "__0x…__" is fileblob's escape: such a name was stored escaped, and listed so.
		for _, name := range []string{"", "/abs", "a//b", "a/../b", "./a", "trailing/", "sp ace", "a\x00b", "ü", "x/a__0x41__.parquet"} {
			if err := bkt.Put(ctx, name, bytes.NewReader(nil)); !errors.Is(err, lakehouse.ErrInvalidName) {
				t.Errorf("Put(%q): err = %v, want ErrInvalidName", name, err)
			}
			if _, err := bkt.Get(ctx, name); !errors.Is(err, lakehouse.ErrInvalidName) {
				t.Errorf("Get(%q): err = %v, want ErrInvalidName", name, err)
			}
		}
	})
}

type failingReader struct {
	r     io.Reader
	after int
	n     int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errors.New("reader broke mid-object")
	}
	if len(p) > f.after-f.n {
		p = p[:f.after-f.n]
	}
	n, err := f.r.Read(p)
	f.n += n
	return n, err
}

func mustPut(t *testing.T, ctx context.Context, bkt lakehouse.Bucket, name string, data []byte) {
	t.Helper()
	if err := bkt.Put(ctx, name, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func mustGet(t *testing.T, ctx context.Context, bkt lakehouse.Bucket, name string) []byte {
	t.Helper()
	rc, err := bkt.Get(ctx, name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", name, err)
	}
	return data
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
