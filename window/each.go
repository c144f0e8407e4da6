package window

// EachWindow calls fn with every open window, in no particular order and without
// sorting the groups (Windows sorts them): one pass for listings over many groups.
func (s *State) EachWindow(fn func(w *Window)) {
	s.EachWindowOf(func([]byte) bool { return true }, fn)
}

// EachWindowOf calls fn with the open windows of the customers keep accepts, in no
// particular order: the windows of a page of customers in one pass, which copies out
// (group keys, customer names) only theirs. keep's argument aliases the state: it is
// valid during the call only.
func (s *State) EachWindowOf(keep func(customer []byte) bool, fn func(w *Window)) {
	var names customerNames
	var ws []Window
	for slot := range s.liveSlots() {
		id := s.idOf(slot)
		if !keep(customerOf(id)) {
			continue
		}
		ws = s.appendWindows(ws[:0], slot, names.of(id))
		for _, w := range ws {
			// A Window of its own each time, as fn may keep it.
			fn(&w)
		}
	}
}

// EachGroupCount calls fn with each open group's customer and the largest count among
// its open windows, in no particular order, allocating nothing: a listing that keeps
// one page of customers costs memory by the page, not by the groups. customer aliases
// the state: it is valid during the call only (copy it to keep it).
func (s *State) EachGroupCount(fn func(customer []byte, count int64)) {
	for slot := range s.liveSlots() {
		n, open := int64(0), false
		for ow := range s.windowsOf(slot) {
			n, open = max(n, ow.c.n()), true
		}
		if open {
			fn(customerOf(s.idOf(slot)), n)
		}
	}
}
