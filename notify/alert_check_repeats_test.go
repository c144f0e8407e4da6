package notify

import "testing"

// TestCheckAlertRefusesANameRepeatedAnywhere: a name listed twice is refused wherever
// the second stands, next to the first included. TestCheckAlert's repeat is two apart
// ([a b a]), so a check that missed a repeat right after the first ([a a], "< i-1")
// passed it: the alert then went twice to one destination.
func TestCheckAlertRefusesANameRepeatedAnywhere(t *testing.T) {
	t.Parallel()
	for _, names := range [][]string{{"a", "a"}, {"b", "a", "a"}, {"a", "b", "a"}, {"a", "b", "c", "a"}} {
		a := testAlert()
		a.Notify = names
		err := checkAlert(a)
		if want := `notify names "a" twice, which a rule cannot`; err == nil || err.Error() != want {
			t.Errorf("notify %v: %v; want %q", names, err, want)
		}
	}
}
