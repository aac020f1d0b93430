// torture does, under goprof, the things a host program may do to a
// profiler: end in every way a Go program can end, take and use signals,
// run alongside runtime/pprof, make thousands of goroutines and hundreds
// of threads, start and fork children. -mode picks one (see modes); every
// mode burns CPU in main.burn for about -seconds, prints what the test
// compares ("key value" lines), and ends as -end says.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	seconds    = flag.Float64("seconds", 1.5, "how long to burn CPU")
	goroutines = flag.Int("goroutines", 2, "busy goroutines")
	mode       = flag.String("mode", "burn", "what to do (see modes)")
	end        = flag.String("end", "return", "how to end (see endings)")
	count      = flag.Int("n", 0, "mode-specific count")
	pprofOut   = flag.String("pprof", "", "pprof mode: where runtime/pprof writes")
	until      = flag.String("until", "", "stop burning early once this file exists")
)

// stop is set once the -until file appears.
var stop atomic.Bool

func watchUntil() {
	for *until != "" {
		if _, err := os.Stat(*until); err == nil {
			stop.Store(true)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var modes = map[string]func(){
	"burn":        func() { burnAll(*seconds, *goroutines) },
	"notifyall":   notifyAll,
	"resetignore": resetIgnore,
	"selfkill":    selfKill,
	"csignal":     cSignal,
	"rawsig":      rawSig,
	"pprof":       withPprof,
	"gomaxprocs":  changeGomaxprocs,
	"goroutines":  manyGoroutines,
	"threads":     blockedThreads,
	"churn":       threadChurn,
	"exec":        execChildren,
	"child":       child,
	"fork":        forkHelper,
	"forkexec":    forkExecHelper,
}

// spin is the leaf every mode burns CPU in.
//
//go:noinline
func spin(x uint64, n int) uint64 {
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 29
	}
	return x
}

var sink uint64

// burn keeps one goroutine busy until the deadline.
//
//go:noinline
func burn(deadline time.Time) uint64 {
	x := uint64(time.Now().UnixNano())
	for time.Now().Before(deadline) && !stop.Load() {
		x = spin(x, 20000)
	}
	return x
}

// burnAll keeps n goroutines busy for secs seconds.
func burnAll(secs float64, n int) {
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := burn(deadline)
			mu.Lock()
			sink ^= x
			mu.Unlock()
		}()
	}
	wg.Wait()
}

// say prints one "key value" line for the test.
func say(key string, format string, args ...interface{}) {
	fmt.Printf("%s %s\n", key, fmt.Sprintf(format, args...))
}

// selfCPU is the CPU time of this process alone (not of its children).
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func main() {
	flag.Parse()
	run, ok := modes[*mode]
	if !ok {
		var names []string
		for k := range modes {
			names = append(names, k)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "unknown -mode %s (have %v)\n", *mode, names)
		os.Exit(2)
	}
	say("pid", "%d", os.Getpid())
	go watchUntil()
	run()
	say("selfcpu", "%.6f", selfCPU())
	finish(*end)
}
