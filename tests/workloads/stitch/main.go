// stitch exercises the stacks a frame-pointer walk gets wrong: work on
// the system stack (goroutine creation, the scheduler run for goroutines
// that block), C code without frame pointers called from Go, C code in
// the C library, Go called back from C, a thread of C's own, and a small
// function inlined into a hot loop. -mode selects one; each burns CPU for
// -seconds.
package main

/*
#cgo CFLAGS: -O2 -fomit-frame-pointer -D_GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>

extern void goCallback(int);

// c_leaf does the work; c_burn calls it, so a whole stack needs both.
__attribute__((noinline)) static uint64_t c_leaf(uint64_t x, int n) {
	for (int i = 0; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		x ^= x >> 31;
	}
	return x;
}

__attribute__((noinline)) static uint64_t c_burn(int n) {
	return c_leaf(88172645463325252ull, n) + 1;
}

// A thread of C's own, which never enters Go: its samples have no
// goroutine.
static volatile int cthread_stop;
static pthread_t cthread;

__attribute__((noinline)) static uint64_t cthread_leaf(uint64_t x) {
	for (int i = 0; i < 100000; i++)
		x = x * 2862933555777941757ull + 3037000493ull;
	return x;
}

__attribute__((noinline)) static void *cthread_main(void *arg) {
	uint64_t x = (uintptr_t)arg;
	while (!cthread_stop)
		x = cthread_leaf(x);
	return (void *)(uintptr_t)x;
}

static void cthread_start(void) { pthread_create(&cthread, NULL, cthread_main, (void *)1); }
static void cthread_join(void) { cthread_stop = 1; pthread_join(cthread, NULL); }

// C code whose time goes to the C library: memset (an IFUNC: the code
// that runs is an implementation like __memset_avx2_unaligned_erms, which
// only libc's debug symbols name) and memfrob (exported under its name),
// about half each.
static char membuf[1 << 16];

__attribute__((noinline)) static int c_libc(int n) {
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 16; k++) {
			memset(membuf, i + k, sizeof membuf);
			// an opaque use of the buffer keeps every memset
			__asm__ volatile("" : : "r"(membuf) : "memory");
		}
		memfrob(membuf, sizeof membuf);
	}
	return membuf[7];
}

// Returns a value computed after the calls, so that neither is a tail
// call and c_calls_go stays on the stack.
__attribute__((noinline)) static int c_calls_go(int n) {
	goCallback(n);
	goCallback(n + 1);
	return n * 3;
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
	"time"
)

// startPprof starts runtime/pprof at hz: SetCPUProfileRate first, since
// StartCPUProfile would set 100 (and only warns that it cannot).
func startPprof(path string, hz int) {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	runtime.SetCPUProfileRate(hz)
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
}

var sink uint64

//export goCallback
func goCallback(n C.int) { sink += goBurn(int(n)) }

//go:noinline
func goBurn(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n*1000; i++ {
		x = x*31 + uint64(i)
		x ^= x >> 7
	}
	return x
}

// spawner creates goroutines in a loop: runtime.newproc1 runs on the
// system stack on behalf of this function.
//
//go:noinline
func spawner(deadline time.Time) {
	var wg sync.WaitGroup
	for time.Now().Before(deadline) {
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
}

//go:noinline
func cgoCaller(deadline time.Time) {
	for time.Now().Before(deadline) {
		sink += uint64(C.c_burn(200000))
	}
}

//go:noinline
func callbacker(deadline time.Time) {
	for time.Now().Before(deadline) {
		sink += uint64(C.c_calls_go(500))
	}
}

var cthreadOnce sync.Once

// cthreadWait runs one C thread that burns CPU without ever entering Go,
// and waits for it.
func cthreadWait(deadline time.Time) {
	cthreadOnce.Do(func() {
		C.cthread_start()
		time.Sleep(time.Until(deadline))
		C.cthread_join()
	})
}

//go:noinline
func libcCaller(deadline time.Time) {
	for time.Now().Before(deadline) {
		sink += uint64(C.c_libc(100))
	}
}

// pingpong and ponger hand a value back and forth over unbuffered
// channels: each parks in a loop, so the scheduler runs on the system
// stack (mcall, park_m) on their behalf.
//
//go:noinline
func pingpong(deadline time.Time) {
	ping, pong := make(chan int), make(chan int)
	go ponger(ping, pong)
	for time.Now().Before(deadline) {
		for i := 0; i < 1000; i++ {
			ping <- i
			sink += uint64(<-pong)
		}
	}
	close(ping)
}

//go:noinline
func ponger(ping <-chan int, pong chan<- int) {
	for v := range ping {
		pong <- v
	}
}

// mix is small enough to be inlined into inlineLoop.
func mix(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	return x ^ x<<17
}

//go:noinline
func inlineLoop(deadline time.Time) {
	x := uint64(1)
	for time.Now().Before(deadline) {
		for i := 0; i < 100000; i++ {
			x = mix(x) + uint64(i)
		}
	}
	sink += x
}

func main() {
	mode := flag.String("mode", "spawn",
		"spawn, cgo, callback, inline, cthread, libc or pingpong")
	seconds := flag.Float64("seconds", 2, "how long to run")
	goroutines := flag.Int("goroutines", 2, "goroutines doing the work")
	prof := flag.String("pprof", "", "also write a runtime/pprof CPU profile here")
	profHz := flag.Int("pprofhz", 100, "runtime/pprof sampling rate")
	flag.Parse()
	if *prof != "" {
		startPprof(*prof, *profHz)
		defer pprof.StopCPUProfile()
	}
	work := map[string]func(time.Time){
		"spawn": spawner, "cgo": cgoCaller, "callback": callbacker, "inline": inlineLoop,
		"cthread": cthreadWait, "libc": libcCaller, "pingpong": pingpong,
	}[*mode]
	if work == nil {
		fmt.Fprintln(os.Stderr, "unknown -mode", *mode)
		os.Exit(2)
	}
	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for g := 0; g < *goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(deadline)
		}()
	}
	wg.Wait()
	fmt.Println("sink", sink)
}
