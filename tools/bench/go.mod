module goprof.bench

go 1.19
