package main

/*
#include <stdint.h>
// c_crash writes through a null pointer: a real SIGSEGV in C code, which
// the Go runtime turns into a crash (with GOTRACEBACK=crash, a signal
// death and a core dump).
static void c_crash(void) { *(volatile int *)(uintptr_t)0 = 1; }
*/
import "C"

import (
	"log"
	"os"
	"time"
)

// finish ends the program the way -end says.
func finish(how string) {
	switch how {
	case "return":
	case "exit":
		os.Exit(3)
	case "panic":
		panic("torture: deliberate panic")
	case "throw":
		concurrentMapWrites()
	case "segv":
		C.c_crash()
	case "logfatal":
		log.Fatal("torture: deliberate log.Fatal")
	default:
		log.Fatalf("unknown -end %s", how)
	}
}

// concurrentMapWrites writes one map from two goroutines until the runtime
// notices and throws "fatal error: concurrent map writes" (not a panic:
// nothing can recover it).
func concurrentMapWrites() {
	m := map[int]int{}
	for g := 0; g < 2; g++ {
		go func(g int) {
			for i := 0; ; i++ {
				m[i%1000+g] = i
			}
		}(g)
	}
	time.Sleep(time.Minute)
	log.Fatal("torture: the runtime did not notice the concurrent map writes")
}
