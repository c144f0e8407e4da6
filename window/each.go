package window

// EachWindow calls fn with every open window, in no particular order and without
// sorting the groups (Windows sorts them): one pass for listings over many groups.
func (s *State) EachWindow(fn func(w *Window)) {
	var names customerNames
	var ws []Window
	for slot := range s.liveSlots() {
		ws = s.appendWindows(ws[:0], slot, names.of(s.idOf(slot)))
		for _, w := range ws {
			// A Window of its own each time, as fn may keep it.
			fn(&w)
		}
	}
}
