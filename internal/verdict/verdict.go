// Package verdict is the one acceptance check of an event record: whether the live
// evaluator counts it, or sends it to the dead-letter topic and why. The live stage
// (ingest), the archiver (lakehouse) and backfill's Kafka reads all call Accept, so that
// what the lake holds is exactly what live evaluated, and history is counted with the
// same verdicts as the present (docs/architecture.md, "Event" and "Lake layout").
//
// It is its own package so that lakehouse, which imports no stage, can use it: it
// depends on jsonpath only.
package verdict

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/hindsightdev/hindsight/jsonpath"
	"github.com/hindsightdev/hindsight/rule"
)

// Reasons a record is refused, the dead-letter topic's hindsight.dlq.reason values.
const (
	ReasonMissingKey  = "missing_key"  // no customer id in the record key
	ReasonInvalidKey  = "invalid_key"  // the key is not valid UTF-8: it cannot be a customer id
	ReasonKeyTooLong  = "key_too_long" // the key is longer than max_customer_bytes
	ReasonInvalidJSON = "invalid_json" // the value is not one JSON document
	ReasonTooDeep     = "too_deep"     // the value nests deeper than the JSON engine allows
)

// Errors of the key checks; value errors are jsonpath's *JSONError.
var (
	ErrMissingKey = errors.New("record has no key: the key must be the customer id")
	ErrInvalidKey = errors.New("record key is not valid UTF-8: the key must be the customer id, a string")
	ErrKeyTooLong = errors.New("record key is longer than a customer id may be")
)

// Accept decides whether the record (key, value) is an event. On acceptance it returns
// ("", nil) and doc holds the parsed value, ready for evaluation; otherwise the reason
// (one of the Reason constants) and the cause, and doc holds nothing.
//
// The key must be valid UTF-8 because it is the customer id: a string in every record
// that crosses a process boundary, and a Parquet string column DuckDB refuses whole
// files over. The value must pass jsonpath.Document.Reset (UTF-8, RFC 8259 grammar,
// nesting ≤ jsonpath.MaxDepth).
func Accept(doc *jsonpath.Document, key, value []byte) (reason string, err error) {
	if reason, err := CheckCustomer(key); err != nil {
		return reason, err
	}
	if err := doc.Reset(value); err != nil {
		if errors.Is(err, jsonpath.ErrTooDeep) {
			return ReasonTooDeep, err
		}
		return ReasonInvalidJSON, err
	}
	return "", nil
}

// CheckCustomer is Accept's verdict on a customer id, the record key: present, at most
// rule.Limits.MaxCustomerBytes long, and UTF-8. `rules test` checks a customer it reads
// from the event or its flag with it too.
func CheckCustomer(key []byte) (reason string, err error) {
	if len(key) == 0 {
		return ReasonMissingKey, ErrMissingKey
	}
	if max := rule.CurrentMaxCustomerBytes(); len(key) > max {
		return ReasonKeyTooLong, fmt.Errorf("%w: %d bytes, at most %d (limit %s)", ErrKeyTooLong, len(key), max, rule.LimitCustomerBytes)
	}
	if !utf8.Valid(key) {
		return ReasonInvalidKey, ErrInvalidKey
	}
	return "", nil
}
