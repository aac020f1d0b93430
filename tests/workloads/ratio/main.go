// ratio burns CPU through three functions in the ratio 1:2:4. All three
// spend their time in one frameless leaf, which is the case a plain
// frame-pointer walk gets wrong (the leaf's caller vanishes).
package main

/*
#include <stdint.h>
#include <time.h>
static uint64_t c_seed(void) { return 88172645463325252ull; }
static double thread_cpu_seconds(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

const unit = 20000 // leaf iterations per unit of work, roughly 25 µs

// leaf has no locals and calls nothing: the compiler gives it no frame.
//
//go:noinline
func leaf(n int, x uint64) uint64 {
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 29
	}
	return x
}

//go:noinline
func burnA(x uint64) uint64 { return leaf(unit, x) }

//go:noinline
func burnB(x uint64) uint64 { return leaf(2*unit, x) }

//go:noinline
func burnC(x uint64) uint64 { return leaf(4*unit, x) }

// recurse puts depth frames under the burning loop, for depth limits.
//
//go:noinline
func recurse(depth int, deadline time.Time, x uint64) uint64 {
	if depth <= 0 {
		return worker(deadline, x)
	}
	return recurse(depth-1, deadline, x) + 1
}

func worker(deadline time.Time, x uint64) uint64 {
	for time.Now().Before(deadline) {
		for i := 0; i < 8; i++ {
			x = burnA(x)
			x = burnB(x)
			x = burnC(x)
		}
	}
	return x
}

func main() {
	seconds := flag.Float64("seconds", 2, "how long each goroutine burns CPU")
	goroutines := flag.Int("goroutines", 4, "number of busy goroutines")
	end := flag.String("end", "return", "how main ends: return, exit or panic")
	lock := flag.Bool("lock", false, "lock each goroutine to a thread and print its CPU time")
	depth := flag.Int("recurse", 0, "extra frames under each worker")
	prof := flag.String("pprof", "", "also write a runtime/pprof CPU profile here")
	profHz := flag.Int("pprofhz", 100, "runtime/pprof sampling rate")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			panic(err)
		}
		// SetCPUProfileRate first: StartCPUProfile would set 100.
		runtime.SetCPUProfileRate(*profHz)
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Println("pid", os.Getpid())

	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	seed := uint64(C.c_seed())
	var wg sync.WaitGroup
	results := make([]uint64, *goroutines)
	for g := 0; g < *goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if *lock {
				// One thread per goroutine, so that each thread's CPU time
				// can be compared with the samples it got.
				runtime.LockOSThread()
				start := float64(C.thread_cpu_seconds())
				results[g] = recurse(*depth, deadline, seed+uint64(g))
				fmt.Printf("thread %d cpu %.6f\n", syscall.Gettid(),
					float64(C.thread_cpu_seconds())-start)
				return
			}
			results[g] = recurse(*depth, deadline, seed+uint64(g))
		}(g)
	}
	wg.Wait()
	var sum uint64
	for _, r := range results {
		sum ^= r
	}
	fmt.Println("checksum", sum)
	switch *end {
	case "exit":
		os.Exit(3)
	case "panic":
		panic("ratio: deliberate panic at the end")
	}
}
