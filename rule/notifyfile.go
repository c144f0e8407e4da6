package rule

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// NotifyFile is what a destinations file holds: a mapping with a destinations list
// and a mutes list (either may be absent). A rules file may carry the same two lists
// next to its rules list, which ParseNotifyFile ignores, so one file can hold all
// three.
type NotifyFile struct {
	Destinations []*Destination
	Mutes        []*Mute
}

// ParseNotifyFile parses and validates a destinations file (YAML or JSON). Problems
// are *FileError values naming the list, entry and line, joined; they match
// ErrInvalid. YAML aliases are refused: a destination is short enough to write out.
func ParseNotifyFile(name string, data []byte) (*NotifyFile, error) {
	f, err := parseYAMLFile(name, data, CurrentLimits())
	if err != nil {
		return nil, err
	}
	out := &NotifyFile{}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return out, nil
	}
	if _, ok := f.Docs[0].Body.(*ast.SequenceNode); ok {
		return out, nil // a rules file that is a bare list of rules
	}
	m, ok := f.Docs[0].Body.(*ast.MappingNode)
	if !ok {
		return nil, fmt.Errorf("%w: %s:%d: expected a mapping with destinations and mutes lists", ErrInvalid, name, lineOfNode(f.Docs[0].Body))
	}
	var errs []error
	for _, kv := range m.Values {
		key, _ := keyText(kv.Key)
		switch key {
		case "rules":
			// A rules file's: ParseRulesFile reads it.
		case "destinations", "mutes":
			if aliases := ast.Filter(ast.AliasType, kv.Value); len(aliases) > 0 {
				errs = append(errs, fmt.Errorf("%w: %s:%d: YAML aliases are not allowed in %s", ErrInvalid, name, lineOfNode(aliases[0]), key))
				continue
			}
			seq, ok := kv.Value.(*ast.SequenceNode)
			if !ok {
				errs = append(errs, fmt.Errorf("%w: %s:%d: %s: expected a list", ErrInvalid, name, lineOfNode(kv.Value), key))
				continue
			}
			for i, node := range seq.Values {
				line := node.GetToken().Position.Line
				fe := func(err error, id string) error {
					return &notifyFileError{FileError{File: name, Index: i, Line: line, ID: id, Err: err}, key}
				}
				generic, _, err := decodeYAMLNode(node)
				if err != nil {
					errs = append(errs, &notifyFileError{FileError{File: name, Index: i, Line: lineOf(err, line), Err: fmt.Errorf("%w: %w", ErrInvalid, err)}, key})
					continue
				}
				js, err := jsonOf(generic)
				if err != nil {
					errs = append(errs, fe(err, ""))
					continue
				}
				if key == "destinations" {
					var d Destination
					if err := strict.Unmarshal(js, &d); err != nil {
						errs = append(errs, fe(undecodable(KindDestination, err), ""))
					} else if err := d.Validate(); err != nil {
						errs = append(errs, fe(err, d.Name))
					} else {
						out.Destinations = append(out.Destinations, &d)
					}
					continue
				}
				var mu Mute
				if err := strict.Unmarshal(js, &mu); err != nil {
					errs = append(errs, fe(undecodableMute(js, err), ""))
				} else if err := mu.validate(muteUntilGiven(js)); err != nil {
					errs = append(errs, fe(err, mu.ID))
				} else {
					out.Mutes = append(out.Mutes, &mu)
				}
			}
		default:
			errs = append(errs, fmt.Errorf("%w: %s:%d: unknown key %q: want destinations, mutes (or a rules file's rules)", ErrInvalid, name, lineOfNode(kv.Key), key))
		}
	}
	seen := map[string]bool{}
	for _, d := range out.Destinations {
		k := recordKeyPrefix(KindDestination) + Key{d.Scope, d.Name}.String()
		if seen[k] {
			errs = append(errs, fmt.Errorf("%w: %s: destination %s/%s is defined twice", ErrInvalid, name, d.Scope, d.Name))
		}
		seen[k] = true
	}
	for _, mu := range out.Mutes {
		k := recordKeyPrefix(KindMute) + Key{mu.Scope, mu.ID}.String()
		if seen[k] {
			errs = append(errs, fmt.Errorf("%w: %s: mute %s/%s is defined twice", ErrInvalid, name, mu.Scope, mu.ID))
		}
		seen[k] = true
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// notifyFileError is a FileError of a destinations file's list (destinations or
// mutes).
type notifyFileError struct {
	FileError
	list string
}

func (e *notifyFileError) Error() string {
	id := ""
	if e.ID != "" {
		id = fmt.Sprintf(" (%q)", e.ID)
	}
	return fmt.Sprintf("%s:%d: %s[%d]%s: %v", e.File, e.Line, e.list, e.Index, id, e.Err)
}

func (e *notifyFileError) Unwrap() error { return e.Err }

// jsonOf encodes a YAML value decoded generically, refusing what JSON cannot carry.
func jsonOf(v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: a value is not a finite number (YAML .nan or .inf), which JSON cannot carry: %v", ErrInvalid, err)
	}
	return js, nil
}

// undecodableMute is undecodable for a mute, but for an until that is a string and not
// an RFC 3339 time: time.Time's decoder says so in Go's layout words, on no field.
func undecodableMute(js []byte, err error) error {
	var wire struct {
		Until json.RawMessage `json:"until"`
	}
	if json.Unmarshal(js, &wire) == nil && len(wire.Until) > 0 && wire.Until[0] == '"' {
		if msg, bad := untilNotRFC3339(wire.Until); bad {
			return &ValidationError{Kind: KindMute, Problems: []Problem{{Field: "until", Msg: msg}}}
		}
	}
	return undecodable(KindMute, err)
}

// undecodable is the error of an entry that does not decode as a kind: an unknown or
// mistyped field.
func undecodable(kind string, err error) error {
	msg := cleanDecodeError(err)
	msg = strings.TrimPrefix(msg, "json: ")
	return &ValidationError{Kind: kind, Problems: []Problem{{Field: "entry", Msg: msg}}}
}
