// callers prints, for a few stacks through inlined and non-inlined
// functions, every PC runtime.Callers returns and the frames
// runtime.CallersFrames gives for it, so that goprof's symbolizer can be
// checked against the Go runtime's own. Output lines:
//   pc <hex>
//   frame <function>\t<file>:<line>
package main

/*
static int c_unused(void) { return 0; }
*/
import "C"

import (
	"fmt"
	"runtime"
)

var sink int

func dump() {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(1, pcs)
	for _, pc := range pcs[:n] {
		fmt.Printf("pc %x\n", pc)
		// One PC at a time: CallersFrames expands its inlined frames.
		frames := runtime.CallersFrames([]uintptr{pc})
		for {
			f, more := frames.Next()
			fmt.Printf("frame %s\t%s:%d\n", f.Function, f.File, f.Line)
			if !more {
				break
			}
		}
	}
}

// small is inlined into its callers.
func small(x int) int {
	if x > 1000 {
		dump()
	}
	return x + 1
}

func middle(x int) int { return small(x) * 2 } // inlined as well

//go:noinline
func outer(x int) int { return middle(x+1000) + 1 }

//go:noinline
func chain(n, x int) int {
	if n == 0 {
		return outer(x)
	}
	return chain(n-1, x) + 1
}

type T struct{ v int }

//go:noinline
func (t *T) Method() int { return chain(2, t.v) }

func main() {
	sink = int(C.c_unused())
	t := &T{v: 5}
	sink += t.Method()
	func() { sink += outer(7) }()
}
