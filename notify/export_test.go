package notify

// SwitchingReceiver is switchingReceiver, for the stage's tests.
var SwitchingReceiver = switchingReceiver
