package window

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/hindsightdev/hindsight/rule"
)

// ErrCorrupt is returned by Decode for bytes AppendTo did not write.
var ErrCorrupt = errors.New("window: corrupt state")

// AppendTo appends the state's encoding, for snapshots (docs/architecture.md, "Snapshot
// format"): flags (bit 0: an event time was seen), the newest event time, the Stats,
// then per group its id, split and windows (start, count, value bits, flags, and for
// count_distinct its values). Groups and windows are written in a deterministic order.
func (s *State) AppendTo(b []byte) []byte {
	var flags byte
	if s.seen {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, s.maxTime)
	for _, n := range []uint64{s.stats.Late, s.stats.TimeErrors, s.stats.GroupsDropped, s.stats.DistinctDropped, s.stats.Overflows} {
		b = binary.AppendUvarint(b, n)
	}
	b = binary.AppendUvarint(b, uint64(len(s.groups)))
	for _, g := range s.sortedGroups() {
		b = binary.AppendUvarint(b, uint64(len(g.id)))
		b = append(b, g.id...)
		b = binary.AppendUvarint(b, uint64(g.split))
		b = binary.AppendUvarint(b, uint64(len(g.cells)))
		for i, c := range g.cells {
			b = binary.AppendVarint(b, c.start)
			b = binary.AppendVarint(b, c.n)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.v))
			b = append(b, c.flags)
			if g.distinct != nil {
				b = binary.AppendUvarint(b, uint64(len(g.distinct[i])))
				for v := range g.distinct[i] {
					b = binary.AppendUvarint(b, uint64(len(v)))
					b = append(b, v...)
				}
			}
		}
	}
	return b
}

// Decode restores a state of rule r under limits lim from data AppendTo wrote, and
// returns the bytes after it.
func Decode(r *rule.Rule, lim Limits, data []byte) (*State, []byte, error) {
	s := New(r, lim)
	d := decoder{b: data}
	if len(d.b) < 1 {
		return nil, nil, ErrCorrupt
	}
	s.seen = d.b[0]&1 != 0
	d.b = d.b[1:]
	s.maxTime = d.varint()
	for _, p := range []*uint64{&s.stats.Late, &s.stats.TimeErrors, &s.stats.GroupsDropped, &s.stats.DistinctDropped, &s.stats.Overflows} {
		*p = d.uvarint()
	}
	ng := d.count()
	for range ng {
		id := string(d.bytes())
		split := int(d.uvarint())
		nc := d.count()
		if d.err != nil {
			break
		}
		if split > len(id) || nc == 0 {
			return nil, nil, fmt.Errorf("%w: group of %d windows split at %d of %d bytes", ErrCorrupt, nc, split, len(id))
		}
		g := &group{id: id, split: split, cells: make([]cell, nc)}
		if s.fn == rule.AggCountDistinct {
			g.distinct = make([]map[string]struct{}, nc)
		}
		for i := range g.cells {
			c := &g.cells[i]
			c.start = d.varint()
			c.n = d.varint()
			c.v = math.Float64frombits(d.uint64())
			c.flags = d.byte()
			if g.distinct != nil {
				nv := d.count()
				set := make(map[string]struct{}, nv)
				for range nv {
					set[string(d.bytes())] = struct{}{}
				}
				g.distinct[i] = set
			}
			if i > 0 && c.start <= g.cells[i-1].start {
				d.fail("windows out of order")
			}
			if s.size > 0 {
				list, ok := s.byStart[c.start]
				if !ok {
					s.starts = append(s.starts, c.start)
				}
				s.byStart[c.start] = append(list, g)
			}
		}
		if d.err != nil {
			break
		}
		if _, dup := s.groups[id]; dup {
			return nil, nil, fmt.Errorf("%w: a group is listed twice", ErrCorrupt)
		}
		s.groups[id] = g
		s.cells += nc
	}
	if d.err != nil {
		return nil, nil, d.err
	}
	heap.Init(&s.starts)
	return s, d.b, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count is a number of items that follow, each at least one byte: more than the bytes
// left is corrupt (and would otherwise make a hostile allocation).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("count beyond the data")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length beyond the data")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail("short value")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("short flags")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}
