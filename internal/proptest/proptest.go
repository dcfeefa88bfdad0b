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
	set("rapid.checks", "CONVERGE_RAPID_CHECKS", Checks)
	set("rapid.shrinktime", "CONVERGE_RAPID_SHRINKTIME", "")
	os.Exit(m.Run())
}
