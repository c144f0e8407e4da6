package window

// EachWindow calls fn with every open window, in no particular order, without sorting
// or copying the group keys (w.Group is valid only during the call).
func (s *State) EachWindow(fn func(w *Window)) {
	for _, g := range s.groups {
		for i := range g.cells {
			w := s.window(g, i)
			fn(&w)
		}
	}
}
