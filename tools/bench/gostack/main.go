// gostack measures what it costs a Go program to look at a stack in
// process, the ways the standard library offers, at several depths:
// runtime.Callers (+ CallersFrames to get names), runtime.Stack for the
// calling goroutine and for all goroutines (with 10 and 10,000 others
// parked), and debug.Stack. runtime.Stack(all) stops the world; a
// goroutine that ticks every 100 µs measures the pause it sees.
//
// Output: one JSON object per line, {"what":..., "depth":..., "ns":...}.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"time"
)

var sink int

type result struct {
	What       string  `json:"what"`
	Depth      int     `json:"depth"`
	Goroutines int     `json:"goroutines,omitempty"`
	NS         float64 `json:"ns"`
	PauseMaxUS float64 `json:"pause_max_us,omitempty"`
	PauseP99US float64 `json:"pause_p99_us,omitempty"`
}

// at runs f at the bottom of depth frames (plus main's own).
//
//go:noinline
func at(depth int, f func()) {
	if depth <= 0 {
		f()
		return
	}
	at(depth-1, f)
	sink++
}

// measure returns the median ns per call of f over 5 batches of n calls.
func measure(n int, f func()) float64 {
	var per []float64
	for b := 0; b < 5; b++ {
		t := time.Now()
		for i := 0; i < n; i++ {
			f()
		}
		per = append(per, float64(time.Since(t).Nanoseconds())/float64(n))
	}
	sort.Float64s(per)
	return per[len(per)/2]
}

func callers() {
	pcs := make([]uintptr, 256)
	n := runtime.Callers(1, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		sink += len(f.Function)
		if !more {
			break
		}
	}
}

var buf = make([]byte, 1<<20)

func stackOne() { sink += runtime.Stack(buf, false) }
func stackAll() { sink += runtime.Stack(buf, true) }
func debugStack() { sink += len(debug.Stack()) }

// park starts n goroutines that sleep on a channel until stop is closed.
func park(n int) (stop func()) {
	ch := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			wg.Done()
			<-ch
		}()
	}
	wg.Wait()
	return func() { close(ch) }
}

// withTicker runs f while a goroutine ticks every 100 µs and records how
// late each tick is; returns the max and 99th percentile lateness.
func withTicker(f func()) (maxUS, p99US float64) {
	done := make(chan struct{})
	var lates []float64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := time.Now()
		for {
			select {
			case <-done:
				return
			default:
			}
			next = next.Add(100 * time.Microsecond)
			for time.Now().Before(next) {
			}
			lates = append(lates, float64(time.Since(next).Microseconds()))
		}
	}()
	f()
	close(done)
	wg.Wait()
	sort.Float64s(lates)
	if len(lates) == 0 {
		return 0, 0
	}
	return lates[len(lates)-1], lates[len(lates)*99/100]
}

func main() {
	calls := flag.Int("calls", 2000, "calls per batch (5 batches)")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	for _, depth := range []int{8, 32, 128} {
		d := depth - 4 // main, the closure and at's own frames
		for _, c := range []struct {
			what string
			f    func()
		}{{"runtime.Callers+CallersFrames", callers}, {"runtime.Stack(buf, false)", stackOne},
			{"debug.Stack", debugStack}} {
			var ns float64
			at(d, func() { ns = measure(*calls, c.f) })
			enc.Encode(result{What: c.what, Depth: depth, NS: ns})
		}
		for _, others := range []int{10, 10000} {
			stop := park(others)
			n := *calls
			if others > 100 {
				n = 20 // each call formats 10,000 stacks
			}
			var ns float64
			maxUS, p99US := withTicker(func() { at(d, func() { ns = measure(n, stackAll) }) })
			stop()
			enc.Encode(result{What: "runtime.Stack(buf, true)", Depth: depth, Goroutines: others,
				NS: ns, PauseMaxUS: maxUS, PauseP99US: p99US})
		}
	}
}
