package lakehouse

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"time"
)

// hourLayout names the event-time hour directory of a file.
const hourLayout = "2006-01-02T15"

// dataName is data/p=PPPP/h=HOUR/START-END-ID.parquet. The random id makes every
// attempt a new object, so a zombie writer can never overwrite a committed file.
func dataName(partition int32, hour time.Time, start, end int64) string {
	return fmt.Sprintf("%sp=%04d/h=%s/%020d-%020d-%s.parquet", dataPrefix, partition,
		hour.UTC().Format(hourLayout), start, end, randomID(4))
}

var dataNamePattern = regexp.MustCompile(`^data/p=[0-9]{4,}/h=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}/[0-9]{20}-[0-9]{20}-[0-9a-f]+\.parquet$`)

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newWriterID names this process in the manifests it writes.
func newWriterID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomID(3))
}

func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
