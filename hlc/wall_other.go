//go:build !(linux && amd64)

package hlc

import "time"

// wallNs reads the system's wall clock in Unix nanoseconds. See
// wall_linux_amd64.go for the faster path on linux/amd64.
func wallNs() int64 { return time.Now().UnixNano() }
