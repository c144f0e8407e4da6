package live

// chunkBits sets a chunk of a chunked slice to 4,096 entries: small enough that
// copying one on a write costs microseconds, large enough that freezing a store of
// ten million entries copies a few thousand pointers.
const chunkBits = 12

const chunkLen = 1 << chunkBits

// chunked is a slice kept in fixed chunks that frozen views share copy-on-write: a
// snapshot freezes the partition's counters under its lock by copying only the chunk
// pointers, and encodes the view after releasing it; the event loop's first write to
// a chunk after a freeze copies that chunk. So a snapshot stalls the partition for
// microseconds whatever the state's size, where copying or encoding it there took up
// to a second. Only the partition's worker writes, under the partition's lock, as
// freeze and thaw run.
type chunked[T any] struct {
	chunks []*[chunkLen]T
	// gens is the generation each chunk was made or copied in: a chunk of an older
	// one may be shared with a view, while shared.
	gens   []uint64
	n      int
	gen    uint64
	shared bool
}

// chunkedView is a frozen chunked slice: its entries are those of the slice when it
// was frozen, whatever the slice does since.
type chunkedView[T any] struct {
	chunks []*[chunkLen]T
	n      int
}

func (v *chunkedView[T]) len() int { return v.n }

func (v *chunkedView[T]) at(i int) *T { return &v.chunks[i>>chunkBits][i&(chunkLen-1)] }

func (c *chunked[T]) len() int { return c.n }

// at is entry i, to read.
func (c *chunked[T]) at(i int) *T { return &c.chunks[i>>chunkBits][i&(chunkLen-1)] }

// mut is entry i, to write: a chunk a view shares is copied first.
func (c *chunked[T]) mut(i int) *T {
	k := i >> chunkBits
	if c.shared && c.gens[k] != c.gen {
		cp := *c.chunks[k]
		c.chunks[k], c.gens[k] = &cp, c.gen
	}
	return &c.chunks[k][i&(chunkLen-1)]
}

// append adds v at the end and returns its index.
func (c *chunked[T]) append(v T) int {
	i := c.n
	if i == len(c.chunks)<<chunkBits {
		c.chunks = append(c.chunks, new([chunkLen]T))
		c.gens = append(c.gens, c.gen)
	}
	*c.mut(i) = v
	c.n++
	return i
}

// reserve makes room for n entries' chunk pointers (a restore knows the count).
func (c *chunked[T]) reserve(n int) {
	chunks := (n + chunkLen - 1) >> chunkBits
	if cap(c.chunks) < chunks {
		c.chunks = append(make([]*[chunkLen]T, 0, chunks), c.chunks...)
		c.gens = append(make([]uint64, 0, chunks), c.gens...)
	}
}

// freeze returns a view of the slice as it is; the slice copies a chunk before its
// next write to it, until thaw.
func (c *chunked[T]) freeze() chunkedView[T] {
	c.gen++
	c.shared = true
	return chunkedView[T]{chunks: append([]*[chunkLen]T(nil), c.chunks...), n: c.n}
}

// thaw ends the last freeze: no view is read any more, so chunks are written in
// place again.
func (c *chunked[T]) thaw() { c.shared = false }

// footprint is the memory the slice holds, in bytes, for entries of size bytes.
func (c *chunked[T]) footprint(size int) int { return len(c.chunks)*chunkLen*size + cap(c.chunks)*16 }
