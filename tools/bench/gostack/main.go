// gostack measures what it costs a Go program to look at a stack in
// process, the ways the standard library offers, at several depths:
// runtime.Callers (+ CallersFrames to get names), runtime.Stack for the
// calling goroutine and for all goroutines (with 10 and 10,000 others
// parked), and debug.Stack. runtime.Stack(all) stops the world; a
// goroutine that spins on the clock measures the pause each call imposes.
//
// Output: one JSON object per line, {"what":..., "depth":..., "ns":...}.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"sync"
	"time"
)

var sink int

type result struct {
	What       string   `json:"what"`
	Depth      int      `json:"depth"`
	Goroutines int      `json:"goroutines,omitempty"`
	NS         float64  `json:"ns"`
	PauseMedUS *float64 `json:"pause_median_us,omitempty"`
	PauseMaxUS *float64 `json:"pause_max_us,omitempty"`
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

func stackOne()   { sink += runtime.Stack(buf, false) }
func stackAll()   { sink += runtime.Stack(buf, true) }
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

// pauses calls f k times while another goroutine spins reading the
// clock, as a latency-sensitive goroutine would poll, and records when it
// was held up for more than 5 µs: a stop of the world stops it too. For
// each call, the pause is the longest hold-up of the spinner that overlaps
// the call. Returns the median and the longest of those pauses.
func pauses(k int, f func()) (medianUS, maxUS float64) {
	type span struct{ from, to time.Time }
	held := make([]span, 0, 1<<16)
	calls := make([]span, 0, k)
	done := make(chan struct{})
	running := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		close(running)
		last := time.Now()
		for {
			select {
			case <-done:
				return
			default:
			}
			now := time.Now()
			if now.Sub(last) > 5*time.Microsecond && len(held) < cap(held) {
				held = append(held, span{last, now})
			}
			last = now
		}
	}()
	<-running // the calls must not start before the spinner does
	for i := 0; i < k; i++ {
		t := time.Now()
		f()
		calls = append(calls, span{t, time.Now()})
	}
	close(done)
	wg.Wait()
	var per []float64
	for _, c := range calls {
		longest := 0.0
		for _, h := range held {
			if h.to.After(c.from) && h.from.Before(c.to) {
				if us := float64(h.to.Sub(h.from).Nanoseconds()) / 1000; us > longest {
					longest = us
				}
			}
		}
		per = append(per, longest)
	}
	sort.Float64s(per)
	return per[len(per)/2], per[len(per)-1]
}

// stwPauses runs f and returns the median and the longest of the
// non-GC stop-the-world pauses the runtime itself recorded meanwhile
// (/sched/pauses/total/other:seconds, Go 1.22 and later; histogram
// buckets, so each value is its bucket's upper bound), and ok=false on
// a release without that metric.
func stwPauses(f func()) (medianUS, maxUS float64, ok bool) {
	s := []metrics.Sample{{Name: "/sched/pauses/total/other:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		f()
		return 0, 0, false
	}
	before := append([]uint64(nil), s[0].Value.Float64Histogram().Counts...)
	f()
	metrics.Read(s)
	h := s[0].Value.Float64Histogram()
	var total uint64
	delta := make([]uint64, len(h.Counts))
	for i, c := range h.Counts {
		delta[i] = c - before[i]
		total += delta[i]
	}
	if total == 0 {
		return 0, 0, true
	}
	var seen uint64
	for i, d := range delta {
		if d == 0 {
			continue
		}
		seen += d
		upper := h.Buckets[i+1] * 1e6
		if medianUS == 0 && seen*2 >= total {
			medianUS = upper
		}
		maxUS = upper
	}
	return medianUS, maxUS, true
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
			at(d, func() { ns = measure(n, stackAll) })
			var medUS, maxUS float64
			var ok bool
			at(d, func() {
				medUS, maxUS, ok = stwPauses(func() { medUS, maxUS = pauses(20, stackAll) })
			})
			if !ok { // before Go 1.22: what a spinning goroutine saw
				at(d, func() { medUS, maxUS = pauses(20, stackAll) })
			}
			stop()
			enc.Encode(result{What: "runtime.Stack(buf, true)", Depth: depth, Goroutines: others,
				NS: ns, PauseMedUS: &medUS, PauseMaxUS: &maxUS})
		}
	}
}
