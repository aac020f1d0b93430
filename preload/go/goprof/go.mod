module goprof/preload/go/goprof

go 1.19
