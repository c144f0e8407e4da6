package notify

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/rule"
)

// TestSecretReadSurvivesKubernetesRotation: secretPath resolves a file's symbolic links
// (filepath.EvalSymlinks) and readSecretFile then stats and opens the resolved path,
// several system calls later. A Kubernetes secret volume (key -> ..data/key, ..data ->
// ..<timestamp>) is rotated by the kubelet as: write a new timestamped directory, rename
// a new ..data link over the old, remove the old directory. A read whose resolution
// named the old directory found it gone, "no such file or directory", which target()
// makes a final giveUp, the alert undelivered (67 of 13,495 reads here failed so, before
// readSecretFile resolved and opened again a file it found missing). The volume is
// rotated over and over here, far more often than a kubelet does.
func TestSecretReadSurvivesKubernetesRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("rotates a secret for 2 s: make test runs it")
	}
	dir := filepath.Join(t.TempDir(), "notify-secrets")
	if err := os.MkdirAll(filepath.Join(dir, "..ts0"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeSecret(t, filepath.Join(dir, "..ts0", "key"), "S3CRET")
	symlink(t, "..ts0", filepath.Join(dir, "..data"))
	symlink(t, filepath.Join("..data", "key"), filepath.Join(dir, "key"))
	s := secretStage(t, Config{SecretDirs: []string{dir}}, nil, nil)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the kubelet's atomic writer, over and over
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ts := fmt.Sprintf("..ts%d", i)
			writeSecret(t, filepath.Join(dir, ts, "key"), "S3CRET")
			tmp := filepath.Join(dir, "..data_tmp")
			_ = os.Remove(tmp)
			if err := os.Symlink(ts, tmp); err != nil {
				t.Error(err)
				return
			}
			if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
				t.Error(err)
				return
			}
			_ = os.RemoveAll(filepath.Join(dir, fmt.Sprintf("..ts%d", i-1)))
		}
	}()
	var reads, failed, plainFailed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		reads.Add(1)
		if _, err := s.secret(&rule.SecretRef{File: filepath.Join(dir, "key")}); err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
		if _, err := os.ReadFile(filepath.Join(dir, "key")); err != nil {
			plainFailed.Add(1)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d reads during rotations: %d failed through secret(), %d through os.ReadFile of the link", reads.Load(), failed.Load(), plainFailed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d secret reads failed while the volume rotated (a final undelivered each); first: %v", failed.Load(), reads.Load(), firstErr.Load())
	}
}
