package window

import "container/heap"

// The closing index. Windows close in start order, as the watermark passes their
// ends. Per open window start it keeps how many windows opened there (so that
// State.cells, the open windows, stays exact without visiting them) and the groups
// whose last window started there when they were listed: when that start closes, each
// of those whose last window still starts there has no open window left and goes
// whole. A group whose last window moved on since is listed again under the new start,
// and skipped here. So a group is visited once per last window, not once per window:
// an event of a ten-minute window hopping every minute opens ten windows and is
// visited when the tenth closes. A closed window still in a group's cells is dropped
// when the group is next touched (trim) or goes.
//
// Most new starts are the latest: those are closing[closeHead:], a deque in start
// order (the entries before closeHead are closed ones, dropped now and then), where
// finding or adding one costs next to nothing; hint is the entry of the last start
// looked up, as an event's windows have consecutive starts. A start opened out of
// order, before the deque's last and not in it, goes to byStart, with starts a heap of
// its keys, so that no stream makes the index cost more than a heap's O(log n) a
// start. No start is in both. spare is the slot list of the last start closed, kept
// for the next one.

// startList is one entry of the closing index.
type startList struct {
	start int64
	// cells is the open windows starting at start.
	cells int
	// slots are the groups listed as having their last window at start.
	slots []uint32
}

// entry is start's entry in the closing index, added if missing. The pointer is valid
// until the next entry.
func (s *State) entry(start int64) *startList {
	n := len(s.closing)
	if h := s.hint; h >= s.closeHead && h < n {
		switch {
		case s.closing[h].start == start:
			return &s.closing[h]
		case h+1 < n && s.closing[h+1].start == start:
			s.hint = h + 1
			return &s.closing[h+1]
		case h > s.closeHead && s.closing[h-1].start == start:
			s.hint = h - 1
			return &s.closing[h-1]
		}
	}
	if n > s.closeHead && start <= s.closing[n-1].start && start >= s.closing[s.closeHead].start {
		lo, hi := s.closeHead, n
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s.closing[m].start < start {
				lo = m + 1
			} else {
				hi = m
			}
		}
		if s.closing[lo].start == start {
			s.hint = lo
			return &s.closing[lo]
		}
	}
	if e, ok := s.byStart[start]; ok {
		return e
	}
	if n == s.closeHead || start > s.closing[n-1].start {
		s.closing = append(s.closing, startList{start: start, slots: s.spare})
		s.spare = nil
		s.hint = n
		return &s.closing[n]
	}
	if s.byStart == nil {
		s.byStart = map[int64]*startList{}
	}
	heap.Push(&s.starts, start)
	e := &startList{start: start, slots: s.spare}
	s.spare = nil
	s.byStart[start] = e
	return e
}

// closeUpTo closes every window whose end is at or below watermark.
func (s *State) closeUpTo(watermark int64) {
	if s.size == 0 {
		return
	}
	for {
		var e startList
		switch {
		case s.closeHead < len(s.closing) && s.closing[s.closeHead].start+s.size <= watermark &&
			(len(s.starts) == 0 || s.closing[s.closeHead].start < s.starts[0]):
			e = s.closing[s.closeHead]
			s.closing[s.closeHead] = startList{}
			s.closeHead++
		case len(s.starts) > 0 && s.starts[0]+s.size <= watermark:
			start := heap.Pop(&s.starts).(int64)
			e = *s.byStart[start]
			delete(s.byStart, start)
		default:
			// The closed entries go once they are half the deque, so that it does not
			// grow without bound and compacting costs O(1) a start.
			if s.closeHead > 0 && s.closeHead*2 >= len(s.closing) {
				n := copy(s.closing, s.closing[s.closeHead:])
				clear(s.closing[n:])
				s.closing, s.closeHead, s.hint = s.closing[:n], 0, 0
			}
			return
		}
		s.cells -= e.cells
		s.endGroups(e.slots, e.start)
		s.spare = e.slots[:0]
	}
}

// endGroups frees the groups of slots whose last window starts at start, now closed.
func (s *State) endGroups(slots []uint32, start int64) {
	// One pass picks the groups that end (the records and runs are seldom in the
	// cache, and a loop this short has many of their reads under way at once), then
	// they go.
	going := slots[:0]
	for _, slot := range slots {
		if s.group(slot).id != noID && s.lastStart(slot) == start {
			going = append(going, slot)
		}
	}
	// When most groups go at once, as tumbling windows' do, placing those that stay in
	// a cleared table is quicker than taking the others out one by one (each moves the
	// entries after it back, hashing their ids), unless the table is much larger than
	// the groups going (kept from a burst of groups).
	if len(going)*2 <= s.live || len(s.table) > 32*len(going) {
		for _, slot := range going {
			s.dropGroup(slot)
		}
		return
	}
	for _, slot := range going {
		s.freeSlot(slot)
	}
	clear(s.table)
	for slot := range s.liveSlots() {
		s.place(slot, s.hash(s.idOf(slot)))
	}
}

type startHeap []int64

func (h startHeap) Len() int           { return len(h) }
func (h startHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h startHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *startHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *startHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
