//go:build !race

package crdt

// raceEnabled reports that the race detector is on: sync.Pool then drops
// what is put in it at random, so the tests that compare what a decoder
// allocates with what it charged, byte for byte, do not run.
const raceEnabled = false
