//go:build !linux

package boltstore

import "os"

// preallocate does nothing where there is no fallocate: appends grow the
// file.
func preallocate(f *os.File, size int64) error { return nil }

// datasync makes f's data durable.
func datasync(f *os.File) error { return f.Sync() }
