package boltstore

import (
	"os"
	"syscall"
)

// preallocate reserves the log's blocks up to size, so that an Append
// within them changes no metadata but the blocks' state, and datasync
// has less to write.
func preallocate(f *os.File, size int64) error {
	for {
		err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
		if err != syscall.EINTR {
			if err == syscall.EOPNOTSUPP || err == syscall.ENOSYS {
				return nil // the file system cannot: appends grow the file
			}
			return err
		}
	}
}

// datasync makes f's data durable, and the metadata needed to read it.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
