//go:build !unix

package lines

import "os"

// pollable: only unix descriptors are made pollable; elsewhere a file is read as it is.
func pollable(*os.File) (*os.File, func()) { return nil, nil }
