// burn is the CPU-bound workload of `make bench`: a fixed amount of work
// (not a fixed time, so that a profiler's cost shows as a longer run) in
// several goroutines, each working at the bottom of a stack 32 frames deep.
//
// The work loop also reads the time-stamp counter every 64 iterations
// (about 200 ns of work) and adds up the gaps: every time the thread was
// taken off its work for 0.5-200 us (an interrupt, a signal and its
// handler, a page fault). A profiler's cost per sample is the gap time it
// adds over an unprofiled run, divided by its signals: a measure that the
// noise of a shared machine (other tenants slowing the whole run by a few
// percent) does not reach, unlike the run's CPU time. Longer gaps are
// the scheduler giving the CPU to someone else, and are counted apart.
// At the end it prints one line: "gaps NS COUNT LONG".
package main

/*
static int cgo_linked(void) { return 1; }
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"goprof.bench/burn/tsc"
)

// gapLimits: in TSC ticks, set by calibrate.
var gapMin, gapMax uint64

type gaps struct {
	ticks, n, long uint64
	chunk          uint64 // the shortest 64 iterations seen: the work itself
}

var totalTicks, totalN, totalLong uint64

func calibrate() float64 {
	t0, c0 := time.Now(), tsc.Read()
	for time.Since(t0) < 20*time.Millisecond {
	}
	perNs := float64(tsc.Read()-c0) / float64(time.Since(t0).Nanoseconds())
	gapMin = uint64(500 * perNs)
	gapMax = uint64(200000 * perNs)
	return perNs
}

var sink uint64

// leaf has no frame: the case the first-frame fix exists for.
//
//go:noinline
func leaf(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	return x ^ x<<17
}

//go:noinline
func work(n int, x uint64, g *gaps) uint64 {
	last := tsc.Read()
	for i := 0; i < n; i++ {
		x = leaf(x) + uint64(i)
		if i&63 == 63 {
			now := tsc.Read()
			d := now - last
			last = now
			if d < g.chunk {
				g.chunk = d
			}
			if d > g.chunk+gapMin {
				if d < gapMax {
					g.ticks += d - g.chunk
					g.n++
				} else {
					g.long++
				}
			}
		}
	}
	return x
}

// descend puts depth frames above the work.
//
//go:noinline
func descend(depth, n int, x uint64, g *gaps) uint64 {
	if depth == 0 {
		return work(n, x, g)
	}
	return descend(depth-1, n, x, g) + 1
}

func main() {
	goroutines := flag.Int("goroutines", 4, "busy goroutines")
	units := flag.Int("units", 10000, "units of work per goroutine (about 0.13 ms of CPU each)")
	depth := flag.Int("depth", 28, "frames between the goroutine's root and the work")
	prof := flag.String("pprof", "", "run runtime/pprof too, writing here")
	hz := flag.Int("pprofhz", 100, "runtime/pprof's rate")
	flag.Parse()
	if C.cgo_linked() == 0 {
		os.Exit(1)
	}
	perNs := calibrate()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			panic(err)
		}
		runtime.SetCPUProfileRate(*hz) // before Start, which would set 100
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		defer pprof.StopCPUProfile()
	}
	var wg sync.WaitGroup
	out := make([]uint64, *goroutines)
	for g := 0; g < *goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			x := uint64(g + 1)
			st := gaps{chunk: ^uint64(0)}
			for u := 0; u < *units; u++ {
				x = descend(*depth, 50000, x, &st)
			}
			out[g] = x
			atomic.AddUint64(&totalTicks, st.ticks)
			atomic.AddUint64(&totalN, st.n)
			atomic.AddUint64(&totalLong, st.long)
		}(g)
	}
	wg.Wait()
	for _, v := range out {
		sink ^= v
	}
	fmt.Println(sink)
	fmt.Printf("gaps %.0f %d %d\n", float64(totalTicks)/perNs, totalN, totalLong)
}
