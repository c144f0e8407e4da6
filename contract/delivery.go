package contract

import "time"

// Delivery states of one alert at one destination.
const (
	DeliveryQueued      = "queued"
	DeliveryRetrying    = "retrying"
	DeliveryDelivered   = "delivered"
	DeliveryUndelivered = "undelivered"
	DeliveryMuted       = "muted"
)

// Undelivered is a record of the undelivered topic (key: the alert's customer): an
// alert the notify stage gave up delivering to one destination, and why.
type Undelivered struct {
	Alert Alert `json:"alert"`
	// Destination names where it was going: scope, name and type ("" type when the
	// name resolved to no destination).
	Scope       string `json:"scope"`
	Destination string `json:"destination"`
	Type        string `json:"type"`
	// Reason says why; Attempts how many requests were made; Status is the last HTTP
	// status (0 if none).
	Reason   string    `json:"reason"`
	Attempts int       `json:"attempts"`
	Status   int       `json:"status"`
	At       time.Time `json:"at"`
	// AlertsPartition and AlertsOffset place the alert's record on the alerts topic.
	AlertsPartition int32 `json:"alerts_partition"`
	AlertsOffset    int64 `json:"alerts_offset"`
}

// AlertDelivery is one alert as the notify stage handled it: the alert and its state
// at each destination (GET /v1/notify/alerts).
type AlertDelivery struct {
	Alert        Alert              `json:"alert"`
	Partition    int32              `json:"partition"`
	Offset       int64              `json:"offset"`
	Received     time.Time          `json:"received"`
	Destinations []DestinationState `json:"destinations"`
}

// DestinationState is an alert's delivery to one destination.
type DestinationState struct {
	Name  string `json:"name"`
	Scope string `json:"scope,omitempty"`
	Type  string `json:"type,omitempty"`
	// State is one of the Delivery* constants.
	State    string    `json:"state"`
	Attempts int       `json:"attempts"`
	Reason   string    `json:"reason,omitempty"`
	Updated  time.Time `json:"updated"`
}
