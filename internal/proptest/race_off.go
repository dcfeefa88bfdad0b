//go:build !race

package proptest

const race = false
