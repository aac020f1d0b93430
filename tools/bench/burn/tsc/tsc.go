// Package tsc reads the CPU's time-stamp counter. It is a package of its
// own because a package that uses cgo cannot hold Go assembly.
package tsc

// Read returns the time-stamp counter.
func Read() uint64
