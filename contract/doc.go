// Package contract defines, once, the records that cross a process boundary: the alert
// record on the alerts topic, the control-status record, the rule view with its backfill
// progress, rejected controls, counts and partition state as the HTTP API, the console
// and the CLI show them, and the one list of status words they use.
//
// Contract: a field added to any of these records is added here and nowhere else; the
// daemon (live), the console, the HTTP API and the CLI all encode and decode these types,
// so their JSON shapes cannot drift apart. Every shape is documented in
// docs/architecture.md ("Data contracts"). The package depends only on the rule model.
package contract
