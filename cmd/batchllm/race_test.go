//go:build race

package main

// raceEnabled makes TestMain build the binary with the race detector when
// the tests run with it, so that the end-to-end runs check the CLI itself.
const raceEnabled = true
