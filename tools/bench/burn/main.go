// burn is the CPU-bound workload of `make bench`: a fixed amount of work
// (not a fixed time, so that a profiler's cost shows as a longer run) in
// several goroutines, each working at the bottom of a stack 32 frames deep.
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
)

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
func work(n int, x uint64) uint64 {
	for i := 0; i < n; i++ {
		x = leaf(x) + uint64(i)
	}
	return x
}

// descend puts depth frames above the work.
//
//go:noinline
func descend(depth, n int, x uint64) uint64 {
	if depth == 0 {
		return work(n, x)
	}
	return descend(depth-1, n, x) + 1
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
			for u := 0; u < *units; u++ {
				x = descend(*depth, 50000, x)
			}
			out[g] = x
		}(g)
	}
	wg.Wait()
	for _, v := range out {
		sink ^= v
	}
	fmt.Println(sink)
}
