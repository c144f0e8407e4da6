package lakehouse_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hindsightdev/hindsight/lakehouse"
)

// TestMaintainTakesATargetAboveTheArchiversBuffer: MaintenanceConfig.TargetBytes bounds
// the raw JSON of a merged file, and `hindsight lake compact --target-bytes` sets it. A
// pass has no archive buffer, yet a target above the archiver's default
// MaxBufferedBytes (512 MiB, a field MaintenanceConfig lacks) was refused, with an error
// naming that field (found by a review helper). Past 1 GiB it is refused by its own name.
func TestMaintainTakesATargetAboveTheArchiversBuffer(t *testing.T) {
	lake := lakehouse.NewLake(lakehouse.NewMemBucket(), nil)
	defer lake.Close()
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{TargetBytes: 768 << 20}); err != nil {
		t.Fatalf("Maintain with TargetBytes 768 MiB on an empty lake: %v", err)
	}
	if _, err := lake.Maintain(context.Background(), lakehouse.MaintenanceConfig{TargetBytes: 2 << 30}); err == nil || !strings.Contains(err.Error(), "TargetBytes") {
		t.Errorf("Maintain with TargetBytes 2 GiB: %v, want an error naming TargetBytes", err)
	}
}
