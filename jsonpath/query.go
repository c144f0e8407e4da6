package jsonpath

import "fmt"

// Query evaluates expr over the JSON document data and returns the selected values
// decoded (nil, bool, float64, string, []any, map[string]any), in RFC order. Decoding
// loses what the evaluator sees in some documents (of duplicate keys it keeps the
// last, the evaluator the first; a number beyond float64 has no decoded form inside
// an array or object): QueryText shows values as they are.
func Query(expr string, data []byte) ([]any, error) {
	vals, err := query(expr, data)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v.Interface()
	}
	return out, nil
}

// QueryText is Query with each selected value as its JSON text in the document, the
// text rules read: the one-shot form behind `hindsight jsonpath EXPR FILE`.
func QueryText(expr string, data []byte) ([]string, error) {
	vals, err := query(expr, data)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v.Raw()
	}
	return out, nil
}

func query(expr string, data []byte) ([]Value, error) {
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
	return vals, nil
}
