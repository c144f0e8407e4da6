package lakehouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // registers file://; s3:// is opened by openS3
	"gocloud.dev/gcerrors"
)

// OpenBucket opens a gocloud.dev/blob URL as a Bucket:
//
//   - file:///var/lib/hindsight/lake — a local directory (created if missing). Temporary
//     files are written next to their target, synced, and renamed into place, so a Put
//     is atomic on one filesystem and durable once it returns; "no_tmp_dir",
//     "metadata=skip" and "create_dir" are implied. file://./dir is relative to the
//     working directory; no other host is taken (gocloud would drop it).
//   - s3://bucket?region=R[&endpoint=http://host:port&use_path_style=true&anonymous=true]
//     — any S3-compatible store; the query parameters are gocloud's (see s3blob and
//     gocloud.dev/aws). Credentials come from the usual AWS environment. Each request
//     is bounded by s.Timeout (StorageConfig).
//   - mem:// — NewMemBucket, for tests and demos.
//
// A URL that names none of these is ErrBadBucketURL (CheckBucketURL).
func OpenBucket(ctx context.Context, rawURL string, s StorageConfig) (Bucket, error) {
	if err := CheckBucketURL(rawURL); err != nil {
		return nil, err
	}
	u, _ := url.Parse(rawURL) // CheckBucketURL parsed it
	switch u.Scheme {
	case "mem":
		return NewMemBucket(), nil
	case "file":
		dir, _ := LocalDir(rawURL)
		q := u.Query()
		for k, v := range map[string]string{"no_tmp_dir": "true", "metadata": "skip", "create_dir": "true"} {
			if q.Get(k) == "" {
				q.Set(k, v)
			}
		}
		u.RawQuery = q.Encode()
		b, err := blob.OpenBucket(ctx, u.String())
		if err != nil {
			return nil, fmt.Errorf("lakehouse: open %s: %w", rawURL, err)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("lakehouse: open %s: %w", rawURL, err)
		}
		return &blobBucket{b: b, url: rawURL, dir: abs}, nil
	case "s3":
		b, err := openS3(ctx, u, s)
		if err != nil {
			return nil, fmt.Errorf("lakehouse: open %s: %w", rawURL, err)
		}
		return &blobBucket{b: b, url: rawURL}, nil
	default:
		return nil, fmt.Errorf("%w %q: unsupported scheme %q", ErrBadBucketURL, rawURL, u.Scheme)
	}
}

// ErrBadBucketURL is the error for a bucket URL that names no store OpenBucket opens:
// it is the URL's fault, not the storage's, and commands refuse it as bad usage.
var ErrBadBucketURL = errors.New("lakehouse: bad bucket URL")

// bucketOptions are the query options each scheme's URL takes: fileblob's (it refuses
// any other, unexported as recognizedParams), openS3's own and those gocloud's
// V2ConfigFromURLParams reads (s3Options), none for mem://. CheckBucketURL refuses any
// other before a command starts, and OpenBucket applies CheckBucketURL: a store
// refusing one only once it is opened would have the command exit 1 after its work
// began. An option added to openS3 goes in s3Options.
var bucketOptions = map[string][]string{
	"file": {"base_url", "create_dir", "dir_file_mode", "metadata", "no_tmp_dir", "secret_key_path"},
	"s3":   s3Options,
	"mem":  nil,
}

// CheckBucketURL is ErrBadBucketURL, saying why, for a URL OpenBucket would refuse
// before reaching any storage: one that does not parse, of a scheme other than file,
// s3 and mem, with a query option its store does not take, a file:// URL without a
// directory or with a host (file://dir/x is the directory /x, not dir/x) or an s3://
// one without a bucket. It lets a command refuse its flag before it does any work.
func CheckBucketURL(rawURL string) error {
	const want = "want file:///path, file://./relative/path, s3://bucket?region=R or mem://"
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w %q: %w (%s)", ErrBadBucketURL, rawURL, err, want)
	}
	if known, ok := bucketOptions[u.Scheme]; ok {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return fmt.Errorf("%w %q: its query: %w", ErrBadBucketURL, rawURL, err)
		}
		for _, k := range slices.Sorted(maps.Keys(q)) {
			if !slices.Contains(known, k) {
				takes := "none"
				if len(known) > 0 {
					takes = strings.Join(known, ", ")
				}
				return fmt.Errorf("%w %q: unknown query option %q (%s:// takes %s)", ErrBadBucketURL, rawURL, k, u.Scheme, takes)
			}
		}
	}
	switch u.Scheme {
	case "mem":
		return nil
	case "file":
		// fileblob and LocalDir drop any other host: file://relative/lake, a relative
		// path mistyped, would be the directory /lake.
		if u.Host != "" && u.Host != "." && u.Host != "localhost" {
			return fmt.Errorf("%w %q: a file:// URL names no host, and %q would be dropped (the directory would be %s): write file:///abs/path, or file://./%s%s for a relative one",
				ErrBadBucketURL, rawURL, u.Host, cmp.Or(u.Path, "/"), u.Host, u.Path)
		}
		if dir, _ := LocalDir(rawURL); dir == "" {
			return fmt.Errorf("%w %q: it names no directory (%s)", ErrBadBucketURL, rawURL, want)
		}
		return nil
	case "s3":
		if u.Host == "" {
			return fmt.Errorf("%w %q: it names no bucket (%s)", ErrBadBucketURL, rawURL, want)
		}
		return nil
	case "":
		// A plain path is the likeliest slip: say how to write it.
		asURL := "file://" + rawURL
		if !filepath.IsAbs(rawURL) {
			asURL = "file://./" + rawURL
		}
		return fmt.Errorf("%w %q: a path, not a URL (the directory is %s)", ErrBadBucketURL, rawURL, asURL)
	default:
		return fmt.Errorf("%w %q: unsupported scheme %q (%s)", ErrBadBucketURL, rawURL, u.Scheme, want)
	}
}

// InProcess reports whether a bucket URL is mem://: a bucket OpenBucket makes new and
// empty, that lives and dies with the process that opened it, so another process can
// never read what one wrote there.
func InProcess(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Scheme == "mem"
}

// LocalDir is the directory of a file:// bucket URL ("file://./x" is relative).
func LocalDir(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "file" {
		return "", false
	}
	if u.Host == "." {
		return "." + u.Path, true
	}
	return u.Path, u.Path != ""
}

// blobBucket is a Bucket over a gocloud.dev/blob bucket.
type blobBucket struct {
	b      *blob.Bucket
	url    string
	dir    string // set for file://: Put and PutIfAbsent write there themselves, see putFile
	closed atomic.Bool
}

// localPath is where a file:// bucket keeps object name on disk.
func (b *blobBucket) localPath(name string) (string, bool) {
	if b.dir == "" {
		return "", false
	}
	return filepath.Join(b.dir, filepath.FromSlash(name)), true
}

// fileblob writes "<name>.<hex nanos>.tmp" next to the target before renaming it; a
// process killed mid-write leaves one behind, which List must not report as an object.
var fileblobTemp = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)

func (bb *blobBucket) String() string { return bb.url }

func (bb *blobBucket) check(name string) error {
	if bb.closed.Load() {
		return ErrClosed
	}
	return checkName(name)
}

func mapBlobErr(err error, op, name string) error {
	if err == nil {
		return nil
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Errorf("%s %q: %w", op, name, ErrNotFound)
	case gcerrors.FailedPrecondition:
		return fmt.Errorf("%s %q: %w", op, name, ErrExists)
	}
	return fmt.Errorf("%s %q: %w", op, name, err)
}

func (bb *blobBucket) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := bb.check(name); err != nil {
		return nil, err
	}
	r, err := bb.b.NewReader(ctx, name, nil)
	if err != nil {
		return nil, mapBlobErr(err, "get", name)
	}
	return r, nil
}

func (bb *blobBucket) Put(ctx context.Context, name string, r io.Reader) error {
	if err := bb.check(name); err != nil {
		return err
	}
	if bb.dir != "" {
		return bb.putFile(ctx, name, r, false)
	}
	return bb.write(ctx, name, r, false)
}

// write aborts the blob writer when r fails: gocloud's Upload would close (and so
// publish) a half-written object in that case.
func (bb *blobBucket) write(ctx context.Context, name string, r io.Reader, ifNotExist bool) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := bb.b.NewWriter(wctx, name, &blob.WriterOptions{ContentType: "application/octet-stream", IfNotExist: ifNotExist})
	if err != nil {
		return mapBlobErr(err, "put", name)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel()
		_ = w.Close()
		return fmt.Errorf("put %q: %w", name, err)
	}
	return mapBlobErr(w.Close(), "put", name)
}

func (bb *blobBucket) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	if err := bb.check(name); err != nil {
		return err
	}
	if bb.dir != "" {
		return bb.putFile(ctx, name, r, true)
	}
	return bb.write(ctx, name, r, true)
}

// putFile writes a file:// object durably: a temporary file next to the target, synced,
// then renamed into place (replace) or linked to its name (ifAbsent: link(2) fails if
// the name exists, atomically, across processes, where fileblob's own IfNotExist
// checks, then renames, which two processes can both pass), and the directory synced.
// fileblob syncs neither: a data file a durable manifest named could come back empty
// after a power loss, its events gone from history.
func (bb *blobBucket) putFile(ctx context.Context, name string, r io.Reader, ifAbsent bool) error {
	target := filepath.Join(bb.dir, filepath.FromSlash(name))
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("put %q: %w", name, err)
	}
	tmp := target + "." + strconv.FormatInt(time.Now().UnixNano(), 16) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return fmt.Errorf("put %q: %w", name, err)
	}
	defer os.Remove(tmp) // after a link, the name holds the file; after a rename, a no-op
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("put %q: %w", name, err)
	}
	if ifAbsent {
		err = os.Link(tmp, target)
	} else {
		err = os.Rename(tmp, target)
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("put %q: %w", name, ErrExists)
		}
		return fmt.Errorf("put %q: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("put %q: sync its directory: %w", name, err)
	}
	return nil
}

// syncDir makes the names in dir durable: a file synced is not yet findable after a
// crash until the directory entry naming it is.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (bb *blobBucket) Delete(ctx context.Context, name string) error {
	if err := bb.check(name); err != nil {
		return err
	}
	return mapBlobErr(bb.b.Delete(ctx, name), "delete", name)
}

func (bb *blobBucket) List(ctx context.Context, prefix string, fn func(ObjectAttributes) error) error {
	if bb.closed.Load() {
		return ErrClosed
	}
	if bb.dir != "" {
		return bb.listDir(ctx, prefix, fn)
	}
	// Object stores list in byte order of names, page by page.
	it := bb.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return mapBlobErr(err, "list", prefix)
		}
		if obj.IsDir {
			continue
		}
		if err := fn(ObjectAttributes{Name: obj.Key, Size: obj.Size, ModTime: obj.ModTime}); err != nil {
			return err
		}
	}
}

// listDir is List for a file:// bucket, walking its directory itself. fileblob's
// listing walks directories, which is not the names' byte order ("x/a-c" sorts
// before "x/a/b", but is met after it), and pages by the last name of a page, which
// drops a name met after a larger one: past 1,000 objects, "x/a-c" behind 1,001
// objects of "x/a/" was left out. So the names are gathered, then sorted. Names are
// the object names (ValidName's characters are kept as they are on disk); a file of
// another name, or fileblob's temporary file of a write under way, is not an object.
func (bb *blobBucket) listDir(ctx context.Context, prefix string, fn func(ObjectAttributes) error) error {
	root := bb.dir
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		root = filepath.Join(bb.dir, filepath.FromSlash(prefix[:i]))
	}
	var objs []ObjectAttributes
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // no such folder, or deleted during the walk: nothing listed there
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if path == root {
			return nil
		}
		rel, err := filepath.Rel(bb.dir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if d.IsDir() {
			// Into folders under the prefix and those it continues in.
			if !strings.HasPrefix(name+"/", prefix) && !strings.HasPrefix(prefix, name+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(name, prefix) || fileblobTemp.MatchString(name) || !ValidName(name) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted during the walk
			}
			return err
		}
		objs = append(objs, ObjectAttributes{Name: name, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	slices.SortFunc(objs, func(a, b ObjectAttributes) int { return strings.Compare(a.Name, b.Name) })
	for _, o := range objs {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

func (bb *blobBucket) Exists(ctx context.Context, name string) (bool, error) {
	if err := bb.check(name); err != nil {
		return false, err
	}
	ok, err := bb.b.Exists(ctx, name)
	return ok, mapBlobErr(err, "exists", name)
}

func (bb *blobBucket) Attributes(ctx context.Context, name string) (ObjectAttributes, error) {
	if err := bb.check(name); err != nil {
		return ObjectAttributes{}, err
	}
	a, err := bb.b.Attributes(ctx, name)
	if err != nil {
		return ObjectAttributes{}, mapBlobErr(err, "attributes", name)
	}
	return ObjectAttributes{Name: name, Size: a.Size, ModTime: a.ModTime}, nil
}

func (bb *blobBucket) Close() error {
	if bb.closed.Swap(true) {
		return nil
	}
	return bb.b.Close()
}

// removeStaleTemps deletes the temporary files that writers killed mid-Put left under
// the folder prefix ("" for all, else ending in "/") of a file:// bucket, those
// unwritten for olderThan: a Put in progress writes, which moves the mtime. It is a
// no-op for other stores, which have no such leftovers.
func (bb *blobBucket) removeStaleTemps(prefix string, olderThan time.Duration) (int, error) {
	if bb.dir == "" {
		return 0, nil
	}
	root := bb.dir
	if prefix != "" {
		if err := bb.check(strings.TrimSuffix(prefix, "/")); err != nil || !strings.HasSuffix(prefix, "/") {
			return 0, fmt.Errorf("removing stale temporaries: prefix %q is not a folder: %w", prefix, cmp.Or(err, ErrInvalidName))
		}
		root = filepath.Join(bb.dir, filepath.FromSlash(prefix))
	}
	n := 0
	cutoff := time.Now().Add(-olderThan)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !fileblobTemp.MatchString(d.Name()) {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(cutoff) {
			if os.Remove(p) == nil {
				n++
			}
		}
		return nil
	})
	return n, err
}

// staleTempRemover is implemented by buckets that can leave temporaries behind.
type staleTempRemover interface {
	removeStaleTemps(prefix string, olderThan time.Duration) (int, error)
}

// RemoveStaleTemps deletes what writers killed mid-Put left in b under the folder
// prefix ("" for all, else ending in "/") and did not write for olderThan, and says
// how many it deleted. Lake maintenance does it for the lake's bucket; a store written
// outside the lake (the daemon's --state) calls it for its own folders, or every kill
// -9 during a write there left a file for good.
func RemoveStaleTemps(b Bucket, prefix string, olderThan time.Duration) (int, error) {
	r, ok := b.(staleTempRemover)
	if !ok {
		return 0, nil
	}
	return r.removeStaleTemps(prefix, olderThan)
}
