//go:build !race

package oauth2pw

// raceEnabled reports whether the race detector is on: the largest
// limiter floods run only without it.
const raceEnabled = false
