package window

import (
	"encoding/binary"
	"fmt"
)

// Samples: an alert names up to MaxSamples events of its window by offset, so that
// whoever receives it can look at what crossed: the crossing event, then the group's
// latest earlier contributions that fall in the window, newest first. Each group keeps
// its two latest contributions (offset and event time) beside its record; a snapshot
// keeps them too, so a restart samples as an uninterrupted run.

// MaxSamples is the most sample offsets an alert carries.
const MaxSamples = 3

// sample is one earlier contribution of a group; offset -1: none.
type sample struct{ offset, at int64 }

// noSamples is a group's samples before any contribution.
var noSamples = [MaxSamples - 1]sample{{-1, 0}, {-1, 0}}

// samplesFor returns the crossing's samples (aliasing s.sampleBuf, valid during the
// callback): ev's offset, then slot's earlier contributions in [start, end).
func (s *State) samplesFor(slot uint32, ev *Event, windowed bool, start, end int64) []int64 {
	s.sampleBuf = append(s.sampleBuf[:0], ev.Offset)
	for _, p := range s.recent[slot] {
		if p.offset >= 0 && (!windowed || p.at >= start && p.at < end) {
			s.sampleBuf = append(s.sampleBuf, p.offset)
		}
	}
	return s.sampleBuf
}

// remember makes ev, at event time t, slot's latest contribution.
func (s *State) remember(slot uint32, ev *Event, t int64) {
	r := &s.recent[slot]
	r[1], r[0] = r[0], sample{ev.Offset, t}
}

// flagSamples, in the state's flags byte, says the samples section follows the
// lifecycle's: per group, in the groups' order, the number of samples kept and each
// one's offset and event time. A state without any leaves the flag off.
const flagSamples = 4

// appendSamples appends a group's part of the samples section, r its recent samples: how many samples, then
// each one's offset and time.
func appendSamples(b []byte, r *[MaxSamples - 1]sample) []byte {
	n := 0
	for _, p := range r {
		if p.offset >= 0 {
			n++
		}
	}
	b = append(b, byte(n))
	for _, p := range r[:n] {
		b = binary.AppendVarint(b, p.offset)
		b = binary.AppendVarint(b, p.at)
	}
	return b
}

// decodeSamples reads appendSamples' section for slots, in the order encoded.
func (s *State) decodeSamples(d *decoder, slots []uint32) {
	for _, slot := range slots {
		n := int(d.byte())
		if n > MaxSamples-1 {
			d.fail(fmt.Sprintf("%d samples of a group; at most %d", n, MaxSamples-1))
			return
		}
		r := noSamples
		for i := range n {
			r[i] = sample{d.varint(), d.varint()}
			if r[i].offset < 0 {
				d.fail("negative sample offset")
			}
		}
		if d.err != nil {
			return
		}
		s.recent[slot] = r
	}
}
