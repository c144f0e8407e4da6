package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hindsightdev/hindsight/contract"
	"github.com/hindsightdev/hindsight/ingest"
	"github.com/hindsightdev/hindsight/rule"
)

// publishTimeout bounds producing one control record.
const publishTimeout = 15 * time.Second

// bind returns a context that ends with parent or when the console closes.
func (c *Console) bind(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func (c *Console) active(k rule.Key) *rule.Rule {
	for _, rs := range c.cfg.Backend.Rules().Rules {
		if rs.Scope == k.Scope && rs.ID == k.ID {
			return rs.Rule
		}
	}
	return nil
}

// SaveRule publishes an upsert of the validated rule r, as `hindsight rules apply` does,
// and waits up to wait for the daemon's status of it. With autoVersion, r gets the
// version after the active rule's (for a new rule 1, or the one after the version a
// deleted rule of the same key retired: Backend.Retired), and a rule equal to the active
// one is not published (status "unchanged"); without, r's version is published as it
// is and the daemon decides (an old version comes back "stale"), except that a version
// not above a deleted rule's (Retired) is refused, "invalid", as rules apply refuses it.
// With base, nothing is
// published (status "conflict") when the active version is not the one the edit began
// from (SaveBase).
func (c *Console) SaveRule(ctx context.Context, r *rule.Rule, autoVersion bool, base *SaveBase, wait time.Duration) (SaveResponse, error) {
	if c.closed() {
		return SaveResponse{}, ErrClosed
	}
	r, err := fileForm(r)
	if err != nil {
		return SaveResponse{}, err
	}
	if base != nil {
		if res, ok := c.conflict(r.Key(), *base); !ok {
			return res, nil
		}
	}
	if !autoVersion && c.active(r.Key()) == nil {
		if old, ok := c.cfg.Backend.Retired(r.Key()); ok && r.Version <= old {
			// The daemon would take it, but its alerts would carry the deleted rule's
			// alert ids (made of the version), which consumers drop as duplicates: refused
			// as rules apply refuses it.
			return SaveResponse{Status: contract.ControlInvalid, Key: r.Key().String(), Op: rule.OpUpsert, Version: r.Version, Offset: -1,
				Message: fmt.Sprintf("version %d is not newer than version %d, the highest the deleted rule %s retired (a delete retires the version it deleted and the next, which an edit begun before the delete would publish): raise version to make it again, or its alerts repeat the deleted rule's alert ids. Nothing was published", r.Version, old, r.Key())}, nil
		}
	}
	if autoVersion {
		r.Version = 1
		if old, ok := c.cfg.Backend.Retired(r.Key()); ok {
			r.Version = old + 1
		}
		if cur := c.active(r.Key()); cur != nil {
			same := *r
			same.Version = cur.Version
			a, errA := json.Marshal(&same)
			b, errB := json.Marshal(cur)
			if errA == nil && errB == nil && bytes.Equal(a, b) {
				return SaveResponse{Status: contract.SaveUnchanged, Key: r.Key().String(), Op: rule.OpUpsert, Version: cur.Version, Offset: -1,
					Message: fmt.Sprintf("the rule is the same as the active version %d: nothing was published", cur.Version)}, nil
			}
			r.Version = cur.Version + 1
		}
		if r.Version > rule.MaxSafeInteger {
			// No control may carry it: published, the daemon would reject it and the
			// rule would show the rejection.
			return SaveResponse{Status: contract.ControlInvalid, Key: r.Key().String(), Op: rule.OpUpsert, Version: r.Version, Offset: -1,
				Message: fmt.Sprintf("the version after %d is beyond %d (2^53), the largest a rule may carry: this rule cannot be changed any more; make the change under another id. Nothing was published", r.Version-1, int64(rule.MaxSafeInteger))}, nil
		}
	}
	return c.publish(ctx, rule.Upsert(r), wait)
}

// fileForm is r as `rules apply` makes it from a rules file: a file's rule is decoded
// to generic values (numbers as their text) and encoded again before it is parsed,
// while a draft's condition values keep the JSON text the client sent ("caf\u00e9",
// "\/", members in any order). The same rule would otherwise be another rule byte for
// byte (and in fingerprint), and `rules apply` of its file refused as changed but not
// newer. Done here, not in rule's parsing: every stored rule's fingerprint would change.
func fileForm(r *rule.Rule) (*rule.Rule, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("console: encoding rule %s to save it: %w", r.Key(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("console: decoding rule %s to save it: %w", r.Key(), err)
	}
	if js, err = json.Marshal(generic); err != nil {
		return nil, fmt.Errorf("console: encoding rule %s as a rules file does: %w", r.Key(), err)
	}
	out, err := rule.ParseRule(js)
	if err != nil {
		return nil, fmt.Errorf("console: parsing rule %s as a rules file gives it: %w", r.Key(), err)
	}
	return out, nil
}

// conflict checks a save of rule k against the rule its edit began from: ok when the
// version active now (0: none) is the one the edit expected, else the answer to give.
func (c *Console) conflict(k rule.Key, base SaveBase) (SaveResponse, bool) {
	var want, have int64
	if base.Key == k.String() {
		want = base.Version
	}
	if cur := c.active(k); cur != nil {
		have = cur.Version
	}
	if have == want {
		return SaveResponse{}, true
	}
	res := SaveResponse{Status: contract.SaveConflict, Key: k.String(), Op: rule.OpUpsert, Version: have, Offset: -1}
	switch {
	case have == 0:
		res.Message = fmt.Sprintf("rule %s is no longer active (deleted since this edit began from its version %d): nothing was published; start a new rule to make it again", k, want)
	case want == 0 && base.Key == k.String():
		res.Message = fmt.Sprintf("rule %s was made since this edit began as a new rule (version %d is active): nothing was published; open it from the rules to change it", k, have)
	case want == 0:
		res.Message = fmt.Sprintf("a rule %s already exists (version %d is active): nothing was published; open it from the rules to change it, or choose another id", k, have)
	default:
		res.Message = fmt.Sprintf("rule %s changed since this edit began from version %d: version %d is active; nothing was published; open it again from the rules to see that version and make the change there", k, want, have)
	}
	return res, false
}

// DeleteRule publishes a delete of the version of rule k active now and waits up to
// wait for the daemon's status. Nothing is published when k is not an active rule
// (status "not_found").
func (c *Console) DeleteRule(ctx context.Context, k rule.Key, wait time.Duration) (SaveResponse, error) {
	if c.closed() {
		return SaveResponse{}, ErrClosed
	}
	cur := c.active(k)
	if cur == nil {
		return SaveResponse{Status: contract.ControlNotFound, Key: k.String(), Op: rule.OpDelete, Offset: -1,
			Message: fmt.Sprintf("no active rule %s: nothing was published", k)}, nil
	}
	// The version seen active, so that the fold, not this check alone, decides a race
	// with a save: an edit of it landing after the delete is refused, not made active
	// again, and a newer version landing before is not deleted unseen.
	res, err := c.publish(ctx, rule.DeleteVersion(k, cur.Version), wait)
	res.Version = cur.Version
	return res, err
}

func (c *Console) publish(ctx context.Context, ctl *rule.Control, wait time.Duration) (SaveResponse, error) {
	ctx, cancel := c.bind(ctx)
	defer cancel()
	// Publishing and waiting end before the answer would be cut off (AnswerWithin, from
	// the end of the request's headers, where the server's write timeout starts). What
	// follows the wait (closing its client, encoding and writing the answer) has a
	// second, or a third of a shorter bound: a tenth of 3 s, 300 ms, was overrun on a
	// busy machine and the client got EOF.
	deadline := arrived(ctx).Add(c.cfg.AnswerWithin - min(time.Second, c.cfg.AnswerWithin/3))
	ctx, dcancel := context.WithDeadline(ctx, deadline)
	defer dcancel()
	kc, topics := c.cfg.Backend.Kafka()
	key := ctl.RecordKey()
	res := SaveResponse{Status: contract.SavePending, Key: key, Op: ctl.Op, Offset: -1}
	if ctl.Rule != nil {
		res.Version = ctl.Rule.Version
	}
	pctx, pcancel := context.WithTimeout(ctx, publishTimeout)
	defer pcancel()
	mark, err := ingest.MarkStatuses(pctx, kc, topics)
	if err != nil {
		return res, fmt.Errorf("console: publishing %s %s: %w", ctl.Op, key, err)
	}
	offs, err := ingest.PublishControls(pctx, kc, topics, []*rule.Control{ctl})
	pcancel()
	if err != nil {
		return res, fmt.Errorf("console: publishing %s %s: %w", ctl.Op, key, err)
	}
	res.Offset = offs[0]
	c.log.Info("control published", "key", key, "op", ctl.Op, "version", res.Version, "offset", res.Offset)
	wait = max(0, min(wait, time.Until(deadline)))
	wctx, wcancel := context.WithTimeout(ctx, wait)
	got, err := ingest.WaitStatuses(wctx, kc, topics, mark, map[string]int64{key: res.Offset})
	wcancel()
	if st, ok := got[key]; ok {
		res.Status, res.Message, res.Problems = st.Status, st.Message, st.Problems
		return res, nil
	}
	res.Message = fmt.Sprintf("published at controls offset %d; no daemon reported its status within %v", res.Offset, wait.Round(time.Millisecond))
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		res.Message += ": " + err.Error()
	}
	return res, nil
}
