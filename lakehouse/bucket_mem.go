package lakehouse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemBucket is an in-memory Bucket for tests and demos. Its contents die with it.
type MemBucket struct {
	mu     sync.RWMutex
	objs   map[string]memObject
	closed bool
}

type memObject struct {
	data []byte
	mod  time.Time
}

// NewMemBucket returns an empty in-memory bucket.
func NewMemBucket() *MemBucket { return &MemBucket{objs: map[string]memObject{}} }

func (m *MemBucket) String() string { return "mem://" }

func (m *MemBucket) lookup(name string) (memObject, error) {
	if err := checkName(name); err != nil {
		return memObject{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return memObject{}, ErrClosed
	}
	o, ok := m.objs[name]
	if !ok {
		return memObject{}, fmt.Errorf("%q: %w", name, ErrNotFound)
	}
	return o, nil
}

// Get implements Bucket.
func (m *MemBucket) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	// Objects are never mutated in place (Put swaps the slice), so sharing is safe.
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

func (m *MemBucket) put(ctx context.Context, name string, r io.Reader, ifAbsent bool) error {
	if err := checkName(name); err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("put %q: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %q: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.objs[name]; ok && ifAbsent {
		return fmt.Errorf("put %q: %w", name, ErrExists)
	}
	m.objs[name] = memObject{data: data, mod: time.Now()}
	return nil
}

// Put implements Bucket.
func (m *MemBucket) Put(ctx context.Context, name string, r io.Reader) error {
	return m.put(ctx, name, r, false)
}

// PutIfAbsent implements Bucket.
func (m *MemBucket) PutIfAbsent(ctx context.Context, name string, r io.Reader) error {
	return m.put(ctx, name, r, true)
}

// Delete implements Bucket.
func (m *MemBucket) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.objs[name]; !ok {
		return fmt.Errorf("delete %q: %w", name, ErrNotFound)
	}
	delete(m.objs, name)
	return nil
}

// List implements Bucket.
func (m *MemBucket) List(ctx context.Context, prefix string, fn func(ObjectAttributes) error) error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	var out []ObjectAttributes
	for k, o := range m.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, ObjectAttributes{Name: k, Size: int64(len(o.data)), ModTime: o.mod})
		}
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for _, a := range out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// Exists implements Bucket.
func (m *MemBucket) Exists(ctx context.Context, name string) (bool, error) {
	_, err := m.lookup(name)
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, err
}

// Attributes implements Bucket.
func (m *MemBucket) Attributes(ctx context.Context, name string) (ObjectAttributes, error) {
	o, err := m.lookup(name)
	if err != nil {
		return ObjectAttributes{}, err
	}
	return ObjectAttributes{Name: name, Size: int64(len(o.data)), ModTime: o.mod}, nil
}

// Close implements Bucket.
func (m *MemBucket) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
