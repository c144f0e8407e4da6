// Package controls is the one fold of the controls topic. It decodes control records
// (Decode) and folds them, in offset order, into the active rule versions and the
// rejected controls (Registry). The live daemon, backfill's job planner, `hindsight rules
// list|apply|delete` and the console all read the topic through it, so they agree on
// what the topic means.
//
// Contract:
//   - An upsert makes its rule the active version of its (scope, id) key when its
//     version is above the active one's; otherwise it is stale and changes nothing.
//   - A delete (or a tombstone) removes the active version of its key; deleting a key
//     that has none is not_found and changes nothing. A rule's delete that names the
//     version V it deletes is stale, and deletes nothing, when a newer version is
//     active; after it, while the key holds nothing, an upsert of version V+1 or below
//     (an edit of V saved by a publisher that had not yet seen the delete) is stale,
//     so a save racing a delete does not make the rule active again. A delete of a
//     version below the one a delete before it named, of a key holding nothing, is
//     stale (its Keeper keeps the newer delete once compaction runs); a delete without
//     a version, or a tombstone, lifts what an earlier delete refused: any version
//     after it is taken, as in a fold of the compacted topic, where it is all that is
//     left of its key.
//   - An invalid record changes no rule; it is remembered as a rejected control (the
//     newest max_rejected_controls of them) and, when its key names an active rule, as that rule's
//     last error.
//   - An upsert refused for room (max_rules, max_rules_bytes, max_destinations,
//     max_mutes) under a key that holds nothing is kept by its Keeper, the upsert
//     itself marked with the limit and its value (Record.RefusedAt): a fold under that
//     limit at that value or lower refuses it whatever room there is, a fold under a
//     higher one folds the upsert it carries. Lowering a limit refuses, never deletes.
//   - A destination or mute has no version: an upsert replaces what its key holds. An
//     ended mute mutes nothing and is kept, to be listed, for mute_retention after its
//     end, the newest max_ended_mutes of them (the earliest ended forgotten first,
//     counted: EndedMutesDropped).
//   - Every record gets exactly one outcome (contract.Control*), which the daemon
//     publishes as a contract.ControlStatus record; nothing is dropped silently. A
//     status fits one record of the producer whatever the control record (its key, id,
//     message and problems cut, Record.Status), and a rejected control is as bounded.
//   - A record's time is its timestamp within the years 0000 to 9999 UTC (RecordTime),
//     so that every time the fold holds can be written as JSON.
//
// The record formats are in docs/architecture.md ("Control record").
package controls
