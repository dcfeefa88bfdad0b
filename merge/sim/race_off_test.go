//go:build !race

package sim_test

// raceEnabled reports that the race detector is on: it slows the
// simulation about tenfold, so the scenario test plays fewer operations.
const raceEnabled = false
