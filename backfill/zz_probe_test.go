package backfill

import (
	"database/sql"
	"testing"
)

func TestZZProbe(t *testing.T) {
	db, _ := sql.Open("duckdb", "")
	defer db.Close()
	rows, err := db.Query("SELECT name, value FROM duckdb_settings() WHERE name LIKE '%cache%' OR name LIKE '%thread%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n, v string
		rows.Scan(&n, &v)
		t.Log(n, "=", v)
	}
}
