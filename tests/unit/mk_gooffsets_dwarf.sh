#!/bin/sh
# Prints the rows of gooffsets_dwarf.txt: for each Go toolchain (a GOROOT)
# given, builds a small cgo program and prints the runtime's g/m offsets
# that `goprof-report --info` reads from its DWARF. Run after `make`:
#   tests/unit/mk_gooffsets_dwarf.sh /usr/lib/go-1.19 ... > rows
# Toolchains of other releases come from the Go module proxy, e.g.
#   https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go1.21.13.linux-amd64.zip
# (unzip; the GOROOT is golang.org/toolchain@v0.0.1-go1.21.13.linux-amd64).
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/main.go" <<'GO'
package main

// static int twice(int x) { return 2 * x; }
import "C"

import "fmt"

func main() { fmt.Println(C.twice(21)) }
GO
printf 'module tiny\n\ngo 1.18\n' > "$tmp/go.mod"
for root in "$@"; do
    (cd "$tmp" && GOROOT="$root" GOTOOLCHAIN=local CGO_ENABLED=1 GOFLAGS=-mod=mod \
        GOCACHE="$tmp/cache" GOPATH="$tmp/gopath" "$root/bin/go" build -o "$tmp/p" .)
    "$repo/build/goprof-report" --info --binary "$tmp/p" | awk '
        /^go version / { v = $3 }
        /^offsets dwarf: g\.stack / {
            out = v
            for (i = 4; i <= NF; i += 2) {
                n = split($i, a, "/")
                for (k = 1; k <= n; k++)
                    out = out " " a[k]
            }
            print out
            ok = 1
        }
        END { if (!ok) { print "no DWARF offsets for " v > "/dev/stderr"; exit 1 } }'
done
