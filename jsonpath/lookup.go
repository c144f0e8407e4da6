package jsonpath

import "encoding/binary"

// lookup returns the tape index of the value of the first member of object obj
// named name (fingerprint fp, word nameWord(name)), or -1. Duplicate names resolve
// to the first member: one fixed rule that backfill's SQL must mirror.
func (d *Document) lookup(obj int32, name string, fp int32, w uint64) int32 {
	nodes := d.nodes
	if obj == 0 {
		for _, rk := range d.rootKeys {
			if rk.fp == fp {
				if d.keyIs(&nodes[rk.key], name, w) {
					return rk.key + 1
				}
			} else if rk.fp == escapedFP && d.escapedKeyIs(rk.key, name) {
				return rk.key + 1
			}
		}
		return -1
	}
	end := nodes[obj].next
	for k := obj + 1; k < end; k = nodes[k].next {
		nd := &nodes[k]
		if nd.n == fp {
			if d.keyIs(nd, name, w) {
				return k + 1
			}
		} else if nd.n == escapedFP && d.escapedKeyIs(k, name) {
			return k + 1
		}
	}
	return -1
}

// nameWord packs the first eight bytes of a name, zero-padded, for keyIs.
func nameWord(name string) uint64 {
	var w uint64
	for i := min(len(name), 8) - 1; i >= 0; i-- {
		w = w<<8 | uint64(name[i])
	}
	return w
}

var wordMask = [9]uint64{0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff, 0xffffffffffffff, 0xffffffffffffffff}

// keyIs compares the unescaped key nd, whose fingerprint (and so length) matched,
// with name. Names of up to eight bytes — most field names — compare as one masked
// word load instead of a call to memequal.
func (d *Document) keyIs(nd *node, name string, w uint64) bool {
	p := int(nd.start) + 1
	if l := len(name); l <= 8 && p+8 <= len(d.buf) {
		return binary.LittleEndian.Uint64(d.buf[p:])&wordMask[l] == w
	}
	return d.data[p:nd.end-1] == name
}

func (d *Document) escapedKeyIs(k int32, name string) bool {
	nd := &d.nodes[k]
	d.scratch = appendUnquoted(d.scratch[:0], d.data[nd.start:nd.end])
	return string(d.scratch) == name
}

// The memo is a direct-mapped table of memoSize entries: a collision overwrites,
// which costs the evicted (parent, name) one plain lookup the next time.
const (
	memoBits = 9
	memoSize = 1 << memoBits
	// memoMinMembers is the member count above which lookups are memoized.
	memoMinMembers = 8
)

// memoEntry remembers one (parent, member name) lookup for the current document so
// that paths sharing a prefix ($.actor.geo.country, $.actor.geo.city) resolve the
// prefix once per event.
type memoEntry struct {
	gen    uint32
	parent int32
	name   uint32
	child  int32
}

// child is lookup through the per-document memo.
func (d *Document) child(obj int32, name string, fp int32, w uint64, id uint32) int32 {
	if id == 0 || obj == 0 || d.nodes[obj].n <= memoMinMembers {
		// The root's dense key list, and small objects, are cheaper to scan through
		// the index than the memo is to consult and fill.
		return d.lookup(obj, name, fp, w)
	}
	h := (uint32(obj)*0x9E3779B1 ^ id*0x85EBCA6B) >> (32 - memoBits)
	e := &d.memo[h]
	if e.gen == d.gen && e.parent == obj && e.name == id {
		return e.child
	}
	c := d.lookup(obj, name, fp, w)
	*e = memoEntry{gen: d.gen, parent: obj, name: id, child: c}
	return c
}

// index returns the tape index of element i (negative counts from the end) of array
// arr, or -1.
func (d *Document) index(arr int32, i int) int32 {
	cnt := int(d.nodes[arr].n)
	if i < 0 {
		i += cnt
	}
	if i < 0 || i >= cnt {
		return -1
	}
	k := arr + 1
	for ; i > 0; i-- {
		k = d.nodes[k].next
	}
	return k
}
