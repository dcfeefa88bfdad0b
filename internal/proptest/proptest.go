// Package proptest sets the number of checks each rapid property runs in
// converge's own tests.
package proptest

import (
	"flag"
	"os"
	"testing"
)

// Checks is the number of cases each rapid property runs by default: the
// figure the project's CI promises.
const Checks = "1000"

// Main runs the tests of a package with rapid's -rapid.checks defaulting to
// Checks instead of rapid's 100. A value given on the command line wins,
// then one in the environment variable CONVERGE_RAPID_CHECKS — for tools
// such as mutation testers, which run go test without extra flags. Call it
// from TestMain.
func Main(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "rapid.checks" {
			given = true
		}
	})
	if !given {
		checks := Checks
		if env := os.Getenv("CONVERGE_RAPID_CHECKS"); env != "" {
			checks = env
		}
		if err := flag.Set("rapid.checks", checks); err != nil {
			panic("proptest: rapid is not linked into this test binary: " + err.Error())
		}
	}
	os.Exit(m.Run())
}
