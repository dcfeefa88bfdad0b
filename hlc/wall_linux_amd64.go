package hlc

import (
	"syscall"
	"time"
)

// wallNs reads the system's wall clock in Unix nanoseconds.
//
// time.Now reads two clocks, the wall clock and the monotonic one; a
// hybrid logical clock needs only the first, and only to the millisecond.
// On linux/amd64 gettimeofday is a vDSO call that reads it alone, at half
// the cost of time.Now. Its microsecond resolution is far below the
// millisecond a Timestamp keeps. Should it ever fail, time.Now answers.
func wallNs() int64 {
	var tv syscall.Timeval
	if err := syscall.Gettimeofday(&tv); err != nil {
		return time.Now().UnixNano()
	}
	return tv.Sec*1e9 + tv.Usec*1e3
}
