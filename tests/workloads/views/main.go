// views burns CPU in functions whose names test every view of goprof-report:
// a method on a pointer receiver with non-ASCII names, a generic function
// instantiated with a struct (its name holds spaces and a ';'), C code
// called through cgo, and allocation that keeps the runtime and its
// garbage collector (on the system stack) busy. Each part runs on its
// own goroutine locked to its own thread, so that thread filters can
// tell them apart; one part burns on a C thread of its own, named
// views-cthread, so that a filter by thread name can pick it out (every
// thread the Go runtime starts has the program's name).
package main

/*
#include <pthread.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <time.h>

__attribute__((noinline)) static uint64_t c_spin(uint64_t n, uint64_t x) {
	for (uint64_t i = 0; i < n; i++) {
		x = x * 2862933555777941757ull + 3037000493ull;
		x ^= x >> 31;
	}
	return x;
}

static double c_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *c_thread_main(void *until) {
	uint64_t x = 11;
	while (c_now() < *(double *)until)
		x = c_spin(200000, x);
	return (void *)(uintptr_t)(x & 1);
}

// c_named_thread burns in c_spin for secs on a new C thread named
// views-cthread. A thread is born with the name of the thread that
// creates it, so this one takes the name for the pthread_create and then
// takes its own back: the new thread never runs under another name,
// however early its first sample comes.
static int c_named_thread(double secs) {
	char old[16] = "";
	double until = c_now() + secs;
	pthread_t t;
	prctl(PR_GET_NAME, old);
	prctl(PR_SET_NAME, "views-cthread");
	int rc = pthread_create(&t, NULL, c_thread_main, &until);
	prctl(PR_SET_NAME, old);
	if (rc == 0)
		pthread_join(t, NULL);
	return rc;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

type Tëst struct{ x uint64 }

// Bürn is the method: main.(*Tëst).Bürn.
//
//go:noinline
func (t *Tëst) Bürn(n int) {
	for i := 0; i < n; i++ {
		t.x = t.x*6364136223846793005 + 1442695040888963407
		t.x ^= t.x >> 29
	}
}

type pair struct {
	A uint64
	B string
}

// Mix is generic; instantiated with pair its name is
// main.Mix[go.shape.struct { A uint64; B string }].
//
//go:noinline
func Mix[T any](v []T, f func(T) uint64) uint64 {
	var s uint64
	for i := range v {
		s = s*31 + f(v[i])
	}
	return s
}

//go:noinline
func churn(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		b := make([]byte, 64+i%512)
		total += len(b)
	}
	return total
}

func main() {
	seconds := flag.Float64("seconds", 2, "how long each part burns CPU")
	flag.Parse()
	fmt.Println("pid", os.Getpid())
	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	parts := map[string]func(){
		"method": func() {
			t := &Tëst{1}
			for time.Now().Before(deadline) {
				t.Bürn(200000)
			}
		},
		"generic": func() {
			v := make([]pair, 4096)
			for i := range v {
				v[i] = pair{uint64(i), "x"}
			}
			for time.Now().Before(deadline) {
				Mix(v, func(p pair) uint64 { return p.A ^ uint64(len(p.B)) })
			}
		},
		"cgo": func() {
			x := C.uint64_t(7)
			for time.Now().Before(deadline) {
				x = C.c_spin(200000, x)
			}
		},
		"cthread": func() {
			if C.c_named_thread(C.double(time.Until(deadline).Seconds())) != 0 {
				panic("pthread_create failed")
			}
		},
		"alloc": func() {
			for time.Now().Before(deadline) {
				churn(10000)
			}
		},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for name, f := range parts {
		wg.Add(1)
		go func(name string, f func()) {
			defer wg.Done()
			runtime.LockOSThread()
			mu.Lock()
			fmt.Printf("part %s thread %d\n", name, syscall.Gettid())
			mu.Unlock()
			f()
		}(name, f)
	}
	wg.Wait()
}
