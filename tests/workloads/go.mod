module goprof.test/workloads

go 1.19
