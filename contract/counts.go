package contract

// CountView is one customer's count for one rule version: the answer of
// /v1/counts?rule=ID&customer=C, and each row of /v1/counts?rule=ID.
type CountView struct {
	RuleID   string `json:"rule_id"`
	Scope    string `json:"scope"`
	Version  int64  `json:"version"`
	Customer string `json:"customer"`
	Count    int64  `json:"count"`
	// Status is the rule's status (RuleBackfilling or RuleLive): a count is final only
	// once the rule is live.
	Status string `json:"status"`
}

// CustomerCount is one customer's count for one rule.
type CustomerCount struct {
	Customer string `json:"customer"`
	Count    int64  `json:"count"`
}

// CountSummary is what a rule counted over the partitions owned by a daemon.
type CountSummary struct {
	// Customers is the number of customers with a count above zero.
	Customers int `json:"customers"`
	// Total is the sum of all customers' counts.
	Total int64 `json:"total"`
	// Top are the largest counts, largest first.
	Top []CustomerCount `json:"top"`
}

// CountsPage is the answer of /v1/counts?rule=ID without a customer: one page of the
// rule's counts in customer order. NextCursor, when not empty, is the cursor of the next
// page; the last page has none.
type CountsPage struct {
	Counts     []CountView `json:"counts"`
	NextCursor string      `json:"next_cursor"`
}
