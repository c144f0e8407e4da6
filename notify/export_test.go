package notify

// SwitchingReceiver is switchingReceiver, for the stage's tests.
var SwitchingReceiver = switchingReceiver

// UnmuteChecks is how many checks for ended mutes are over.
func (s *Stage) UnmuteChecks() int64 { return s.unmuteChecks.Load() }
