package main

/*
#include <unistd.h>
// c_block keeps its thread in a blocking system call: every goroutine in
// one holds an OS thread, so the runtime starts new ones for the rest.
static void c_block(int ms) { usleep((useconds_t)ms * 1000); }
*/
import "C"

import (
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

// withPprof runs runtime/pprof's CPU profiler (SIGPROF, its own
// per-thread timers) over the whole burn.
func withPprof() {
	f, err := os.Create(*pprofOut)
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	burnAll(*seconds, *goroutines)
	pprof.StopCPUProfile()
	f.Close()
}

// changeGomaxprocs burns on 4 goroutines while GOMAXPROCS goes 1, 2, 3,
// 4, 1, ... every 50 ms.
func changeGomaxprocs() {
	wait := background(*seconds)
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	for p := 0; ; p++ {
		select {
		case <-done:
			runtime.GOMAXPROCS(2)
			return
		case <-time.After(50 * time.Millisecond):
			runtime.GOMAXPROCS(p%4 + 1)
		}
	}
}

// manyGoroutines keeps -n goroutines (10,000 by default) runnable, each
// burning a little and yielding, for -seconds.
func manyGoroutines() {
	n := *count
	if n == 0 {
		n = 10000
	}
	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(x uint64) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				x = spin(x, 2000)
				runtime.Gosched()
			}
			sink += x & 1
		}(uint64(i))
	}
	wg.Wait()
	say("goroutines", "%d", n)
}

// threadCount is the Threads: line of /proc/self/status.
func threadCount() string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Threads:") {
			return strings.TrimSpace(l[8:])
		}
	}
	return "?"
}

// perfFDCount counts the process's perf_event file descriptors.
func perfFDCount() int {
	d, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range d {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil &&
			strings.Contains(l, "perf_event") {
			n++
		}
	}
	return n
}

func fdCount() int {
	d, _ := os.ReadDir("/proc/self/fd")
	return len(d)
}

// blockedThreads puts -n goroutines (300 by default) in blocking C calls
// at once, which makes that many threads, while two goroutines burn; then
// opens 64 files, to show goprof left it file descriptors.
func blockedThreads() {
	n := *count
	if n == 0 {
		n = 300
	}
	ms := int(*seconds * 1000)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			C.c_block(C.int(ms))
		}()
	}
	time.Sleep(200 * time.Millisecond)
	say("threads", "%s", threadCount())
	burnAll(*seconds, *goroutines)
	wg.Wait()
	var files []*os.File
	for i := 0; i < 64; i++ {
		f, err := os.Open("/dev/null")
		if err != nil {
			say("open", "failed after %d: %v", i, err)
			break
		}
		files = append(files, f)
	}
	say("opened", "%d", len(files))
	for _, f := range files {
		f.Close()
	}
}

// threadChurn runs -n goroutines (1,000 by default), two at a time, that
// lock their thread, burn about a millisecond and exit still locked: the
// runtime then ends the thread, while it is being sampled.
func threadChurn() {
	n := *count
	if n == 0 {
		n = 1000
	}
	fds := fdCount()
	threads := threadCount()
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(x uint64) {
			defer wg.Done()
			defer func() { <-sem }()
			runtime.LockOSThread()
			t := time.Now().Add(time.Millisecond)
			for time.Now().Before(t) {
				x = spin(x, 2000)
			}
			sink += x & 1
		}(uint64(i))
	}
	wg.Wait()
	time.Sleep(50 * time.Millisecond)
	say("fds", "before %d after %d", fds, fdCount())
	say("threads", "before %s after %s", threads, threadCount())
	// goprof holds one perf event per live thread: more than there are
	// threads would be a leak of the threads that exited.
	say("perffds", "%d threads %s", perfFDCount(), threadCount())
}
