package controls

import "time"

// SetClock makes g read the time from now.
func SetClock(g *Registry, now func() time.Time) { g.now = now }
