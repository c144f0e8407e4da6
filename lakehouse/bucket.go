package lakehouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Sentinel errors of the Bucket contract. Implementations wrap them (errors.Is).
var (
	// ErrNotFound: the named object does not exist.
	ErrNotFound = errors.New("lakehouse: object not found")
	// ErrExists: PutIfAbsent found the name already taken.
	ErrExists = errors.New("lakehouse: object already exists")
	// ErrInvalidName: the name breaks the naming rules of Bucket.
	ErrInvalidName = errors.New("lakehouse: invalid object name")
	// ErrCorrupt: an object is not what the lake wrote there (bad Parquet, bad manifest,
	// wrong size). Readers report and skip such objects.
	ErrCorrupt = errors.New("lakehouse: corrupt object")
	// ErrClosed: the bucket or archiver was used after Close.
	ErrClosed = errors.New("lakehouse: closed")
)

// Bucket is the object storage the lake lives in. The lake needs nothing more than this,
// so any store that honours these comments can hold it; AcceptanceTest in
// lakehouse/lakehousetest checks an implementation against them.
//
// Names are slash-separated keys made of ASCII letters, digits and "._=-", without empty,
// "." or ".." segments, leading or trailing slashes, or "__0x" (a file:// bucket would
// store such a name escaped on disk); others give ErrInvalidName.
// The store is assumed strongly consistent: once a write returns, every later Get, List,
// Exists and Attributes (from any process) sees it. All methods are safe for concurrent use.
type Bucket interface {
	// Get returns a reader of the whole object. The reader sees one complete version of
	// it, never a prefix of a Put in progress. ErrNotFound if the object does not exist.
	Get(ctx context.Context, name string) (io.ReadCloser, error)

	// Put stores everything r yields under name, replacing any object there. It is atomic:
	// until Put returns nil readers see the previous object (or none), and a Put that fails
	// or is interrupted (context cancelled, process killed) leaves name as it was.
	// Put is idempotent: repeating it with the same content is harmless.
	Put(ctx context.Context, name string, r io.Reader) error

	// PutIfAbsent is Put that only succeeds if name does not exist yet; otherwise it
	// returns ErrExists and leaves the existing object untouched. Of concurrent
	// PutIfAbsent calls on one name, from any number of processes, at most one succeeds.
	// This is the lake's only coordination primitive: manifest versions are claimed with it.
	PutIfAbsent(ctx context.Context, name string, r io.Reader) error

	// Delete removes the object. ErrNotFound if it does not exist.
	Delete(ctx context.Context, name string) error

	// List calls fn with the attributes of every object whose name starts with prefix
	// (a plain string prefix, recursive: there are no directories), in ascending byte
	// order of names. Objects written or deleted while List runs may or may not be seen.
	// If fn returns an error, List stops and returns that error.
	List(ctx context.Context, prefix string, fn func(ObjectAttributes) error) error

	// Exists reports whether the object exists.
	Exists(ctx context.Context, name string) (bool, error)

	// Attributes returns the object's size and modification time. ErrNotFound if absent.
	Attributes(ctx context.Context, name string) (ObjectAttributes, error)

	// Close releases the bucket's resources. Calls after Close return ErrClosed.
	Close() error
}

// ObjectAttributes describe a stored object.
type ObjectAttributes struct {
	Name string
	// Size in bytes.
	Size int64
	// ModTime is when the object was last written, as the store reports it.
	ModTime time.Time
}

// ValidName reports whether name follows the Bucket naming rules.
func ValidName(name string) bool {
	if name == "" || len(name) > 1024 || strings.Contains(name, "__0x") {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			case c == '.', c == '_', c == '=', c == '-':
			default:
				return false
			}
		}
	}
	return true
}

func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	return nil
}
