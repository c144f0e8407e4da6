package window_test

import (
	"testing"
	"time"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/window"
)

// TestParseTime checks the event time forms the contract allows: RFC 3339 text and
// epoch milliseconds within the years 0000 to 9999, floored to whole milliseconds;
// everything else is not a time.
func TestParseTime(t *testing.T) {
	base := ms("2024-05-06T07:30:00Z")
	tests := []struct {
		json string
		want int64
		ok   bool
	}{
		{`"2024-05-06T07:30:00Z"`, base, true},
		{`"2024-05-06T09:30:00+02:00"`, base, true},
		{`"2024-05-06T07:30:00.1239Z"`, base + 123, true},
		{`"2024-05-06T07:30:00.999999999Z"`, base + 999, true},
		// Floored, not truncated toward zero: half a millisecond before the epoch is -1.
		{`"1969-12-31T23:59:59.9995Z"`, -1, true},
		{`"0001-01-01T00:00:00Z"`, -62135596800000, true},
		{`1714980600000`, base, true},
		{`1.714980600e12`, base, true},
		{`1714980600000.9`, base, true},
		{`-1.5`, -2, true},
		{`-0`, 0, true},
		{`253402300799999`, 253402300799999, true}, // 9999-12-31T23:59:59.999Z
		{`-62167219200000`, -62167219200000, true}, // 0000-01-01T00:00:00Z
		{`253402300800000`, 0, false},              // year 10000: no RFC 3339 writes it
		{`-62167219200001`, 0, false},              // year -1
		{`8.64e15`, 0, false},                      // JavaScript's Date range, once taken
		{`"9999-12-31T23:59:59.999Z"`, 253402300799999, true},
		{`"0000-01-01T00:00:00Z"`, -62167219200000, true},
		// RFC 3339 §5.6: T and Z in either case; a leap second is the second after it.
		{`"2024-05-06t07:30:00z"`, base, true},
		{`"2024-05-06T07:30:00z"`, base, true},
		{`"2024-05-06t09:30:00+02:00"`, base, true},
		{`"2016-12-31T23:59:60Z"`, ms("2017-01-01T00:00:00Z"), true},
		// Not RFC 3339, though time.Parse takes them: an offset past 23:59, a one-digit
		// hour, a comma before the fraction.
		{`"2024-05-06T07:30:00+24:00"`, 0, false},
		{`"2024-05-06T07:30:00+23:60"`, 0, false},
		{`"2024-05-06T7:30:00Z"`, 0, false},
		{`"2024-05-06T07:30:00,123Z"`, 0, false},
		{`"2024-05-06T07:30:00.Z"`, 0, false},
		{`"2024-05-06T24:00:00Z"`, 0, false},
		{`"2024-02-30T07:30:00Z"`, 0, false},
		{`1e400`, 0, false},
		{`"2024-05-06"`, 0, false},
		{`"2024-05-06 07:30:00Z"`, 0, false},
		{`"2024-05-06T07:30:00"`, 0, false}, // no offset
		{`"1714980600000"`, 0, false},       // digits in a string are not epoch ms
		{`""`, 0, false},
		{`true`, 0, false},
		{`null`, 0, false},
		{`[1714980600000]`, 0, false},
		{`{"t":1714980600000}`, 0, false},
		{``, 0, false}, // nothing selected
	}
	for _, tt := range tests {
		got, ok := window.ParseTime(jsonValue(tt.json))
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseTime(%s) = %d, %v; want %d, %v", tt.json, got, ok, tt.want, tt.ok)
		}
	}
}

// TestEventTime checks where Add takes an event's time from: the first node of the
// rule's time path, else the record timestamp; an event without a usable time counts
// nowhere (TimeErrors) and leaves the watermark alone.
func TestEventTime(t *testing.T) {
	tests := []struct {
		name      string
		fields    string
		doc       string
		rec       time.Time
		wantStart int64 // start of the 10s window the event lands in
		timeError bool
	}{
		{"RFC 3339 text", `"time":"$.t"`, `{"t":"1970-01-01T00:00:25.5Z"}`, time.UnixMilli(0), 20000, false},
		{"epoch ms", `"time":"$.t"`, `{"t":25500}`, time.UnixMilli(0), 20000, false},
		{"negative epoch ms", `"time":"$.t"`, `{"t":-0.5}`, time.UnixMilli(0), -10000, false},
		{"nested path", `"time":"$.meta.at"`, `{"meta":{"at":12000}}`, time.UnixMilli(0), 10000, false},
		{"first node of several", `"time":"$.ts[*]"`, `{"ts":[35000,"bad"]}`, time.UnixMilli(0), 30000, false},
		{"first node unusable, later ones ignored", `"time":"$.ts[*]"`, `{"ts":["bad",35000]}`, time.UnixMilli(0), 0, true},
		{"missing", `"time":"$.t"`, `{"u":25500}`, time.UnixMilli(25500), 0, true},
		{"null", `"time":"$.t"`, `{"t":null}`, time.UnixMilli(25500), 0, true},
		{"not RFC 3339", `"time":"$.t"`, `{"t":"yesterday"}`, time.UnixMilli(25500), 0, true},
		{"beyond the Date range", `"time":"$.t"`, `{"t":9e15}`, time.UnixMilli(25500), 0, true},
		{"record timestamp without time path", ``, `{"t":99999}`, time.UnixMilli(45000), 40000, false},
		{"record timestamp floored to ms", ``, `{}`, time.Unix(-1, 999_999_999), -10000, false},
		{"record timestamp beyond the Date range", ``, `{}`, time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := `"window":{"size":"10s"},"threshold":1e9`
			if tt.fields != "" {
				fields += "," + tt.fields
			}
			st := window.New(mustRule(t, fields), window.Limits{})
			doc := jsonpath.NewDocument()
			if err := doc.Reset([]byte(tt.doc)); err != nil {
				t.Fatal(err)
			}
			st.Add(&window.Event{Customer: "c", Doc: doc, Time: tt.rec}, func(window.Crossing) {})
			ws := st.Windows("")
			if tt.timeError {
				if st.Stats() != (window.Stats{TimeErrors: 1}) || len(ws) != 0 {
					t.Errorf("stats %+v windows %+v, want one time error and no window", st.Stats(), ws)
				}
				if _, ok := st.Watermark(); ok {
					t.Error("an event without a usable time made a watermark")
				}
				return
			}
			if st.Stats() != (window.Stats{}) || len(ws) != 1 || ws[0].Start != tt.wantStart || ws[0].Count != 1 {
				t.Errorf("stats %+v windows %+v, want one event in the window at %d", st.Stats(), ws, tt.wantStart)
			}
		})
	}
}
