package window

// EachWindow calls fn with every open window, in no particular order and without
// sorting the groups (Windows sorts them): one pass for listings over many groups.
func (s *State) EachWindow(fn func(w *Window)) {
	for _, g := range s.groups {
		for i := range g.cells {
			w := s.window(g, i)
			fn(&w)
		}
	}
}
