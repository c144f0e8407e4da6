package ingest

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
)

// This file repairs, before kfake opens it, what kfake's loader leaves broken in a
// data directory after a torn write (a power loss without fsync, a disk fault). kfake (persist.go) cannot be changed here, so the
// framing below mirrors its on-disk format byte for byte; a kfake upgrade that
// changes that format must change this file too (docs/architecture.md, "Package
// `ingest`").

// kfake's framing constants (persist.go): an append-log entry's header (length,
// CRC-32C, version).
const kfakeEntryHeaderSize = 10

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// repairDataDir repairs the data directory dir before kfake loads it. Each repair
// is logged at warn, naming the file and what was cut, and counted by counted.
func repairDataDir(dir string, log *slog.Logger, counted func()) error {
	for _, name := range []string{"groups.log", "pids.log"} {
		if err := repairEntryLog(filepath.Join(dir, name), log, counted); err != nil {
			return err
		}
	}
	return nil
}

// repairEntryLog cuts an append log (groups.log, pids.log) back to its last whole,
// valid entry. kfake's loader stops at the first bad entry but leaves the file as it
// is and appends after it, so every entry written in the next run would be behind
// the bad one and dropped at the start after.
func repairEntryLog(path string, log *slog.Logger, counted func()) error {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ingest: reading %s to check it: %w", path, err)
	}
	valid := validEntryBytes(raw)
	if valid == len(raw) {
		return nil
	}
	if err := os.Truncate(path, int64(valid)); err != nil {
		return fmt.Errorf("ingest: cutting the corrupt tail off %s: %w", path, err)
	}
	counted()
	log.Warn("the embedded broker's data directory had a corrupt or torn entry: cut back to the last whole entry (what it held is lost)",
		"file", path, "cut_bytes", len(raw)-valid, "kept_bytes", valid)
	return nil
}

// validEntryBytes is how many bytes of raw are whole, valid entries, as kfake's
// readEntries reads them: [4 length LE][4 CRC-32C LE of the rest][2 version][data],
// the length counting version and data.
func validEntryBytes(raw []byte) int {
	pos := 0
	for pos+kfakeEntryHeaderSize <= len(raw) {
		length := int(binary.LittleEndian.Uint32(raw[pos : pos+4]))
		if length < 2 || pos+8+length > len(raw) {
			break
		}
		if crc32.Checksum(raw[pos+8:pos+8+length], crc32c) != binary.LittleEndian.Uint32(raw[pos+4:pos+8]) {
			break
		}
		pos += 8 + length
	}
	return pos
}
