package jsonpath

import "fmt"

// Query evaluates expr over the JSON document data and returns the selected values
// decoded (nil, bool, float64, string, []any, map[string]any), in RFC order. It is
// the one-shot form behind `hindsight jsonpath EXPR FILE`.
func Query(expr string, data []byte) ([]any, error) {
	p, err := Parse(expr)
	if err != nil {
		return nil, err
	}
	d := NewDocument()
	if err := d.Reset(data); err != nil {
		return nil, fmt.Errorf("reading the document: %w", err)
	}
	vals, err := p.EvalChecked(d, nil)
	if err != nil {
		return nil, fmt.Errorf("evaluating %s: %w", expr, err)
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v.Interface()
	}
	return out, nil
}
