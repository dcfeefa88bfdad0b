// Package proptest sets the number of checks each rapid property runs in
// converge's own tests.
package proptest

import (
	"flag"
	"os"
	"testing"
)

// Checks is the number of cases each rapid property runs by default.
const Checks = "1000"

// RaceChecks is the number of cases under the race detector, which runs
// the same properties 4–10 times slower. The properties run in one
// goroutine, where the detector has nothing to find, so the cases it runs
// check what the cases without it do; the tests that exercise
// concurrency are not rapid properties and run in full. go test without
// -race runs Checks.
const RaceChecks = "100"

// Main runs the tests of a package with rapid's -rapid.checks defaulting to
// Checks (RaceChecks under the race detector) instead of rapid's 100. A value given on the command line wins,
// then one in the environment variable CONVERGE_RAPID_CHECKS — for tools
// such as mutation testers, which run go test without extra flags. The
// environment variable CONVERGE_RAPID_SHRINKTIME likewise sets
// -rapid.shrinktime (rapid's default is 30s): a mutation tester wants a
// failing property to fail fast, not to find the smallest failing case.
// Call it from TestMain.
func Main(m *testing.M) {
	flag.Parse()
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	set := func(name, env, def string) {
		if given[name] {
			return
		}
		v := def
		if e := os.Getenv(env); e != "" {
			v = e
		}
		if v == "" {
			return
		}
		if err := flag.Set(name, v); err != nil {
			panic("proptest: setting -" + name + ": " + err.Error())
		}
	}
	checks := Checks
	if race {
		checks = RaceChecks
	}
	set("rapid.checks", "CONVERGE_RAPID_CHECKS", checks)
	set("rapid.shrinktime", "CONVERGE_RAPID_SHRINKTIME", "")
	os.Exit(m.Run())
}
