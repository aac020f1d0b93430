// Package goprof builds the goprof CPU profiler into a Go program, for
// teams that would rather not depend on LD_PRELOAD at run time:
//
//	import _ "goprof/preload/go/goprof"
//
// The program is linked with libgoprof.so (through cgo, so it becomes
// dynamically linked like any cgo program). The dynamic loader starts the
// profiler before the Go runtime, exactly as when it is preloaded, and it
// reads the same environment variables: GOPROF_OUT, GOPROF_HZ,
// GOPROF_DEPTH, GOPROF_SOURCE, GOPROF_SIGNAL, GOPROF_QUIET. Nothing else
// changes: a run writes samples.zst (or GOPROF_OUT) for goprof-report.
//
// Finding the library: the package links against, and records as the
// program's run path, the build directory of the goprof tree it lives in
// (make builds build/libgoprof.so there) and the lib/goprof directory of
// an installation (make install puts this package in
// PREFIX/share/goprof/go/goprof). To use a libgoprof.so elsewhere, build
// with CGO_LDFLAGS="-L/path/to/dir -Wl,-rpath,/path/to/dir".
package goprof

/*
#cgo LDFLAGS: -L${SRCDIR}/../../../build -Wl,-rpath,${SRCDIR}/../../../build
#cgo LDFLAGS: -L${SRCDIR}/../../../../lib/goprof -Wl,-rpath,${SRCDIR}/../../../../lib/goprof
#cgo LDFLAGS: -Wl,--no-as-needed -lgoprof
*/
import "C"
