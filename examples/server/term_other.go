//go:build !linux

package main

import "os"

// echoControl reports whether noEcho can turn a terminal's echo off: not
// on this system, where a password typed at a terminal shows.
const echoControl = false

// noEcho reports false: this system's terminals keep their echo.
func noEcho(*os.File) (restore func(), ok bool) { return nil, false }
