package backfill

import (
	"context"
	"database/sql"
	"fmt"
)

// DuckDBVersion is the version of the DuckDB library this build links (`hindsight
// version`), from an in-memory database opened and closed for the question.
func DuckDBVersion(ctx context.Context) (string, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return "", fmt.Errorf("backfill: opening DuckDB: %w", err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT library_version FROM pragma_version()").Scan(&v); err != nil {
		return "", fmt.Errorf("backfill: asking DuckDB its version: %w", err)
	}
	return v, nil
}
