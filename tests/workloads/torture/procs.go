package main

/*
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double thread_cpu(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

// c_child_burn is what a forked child burns: its name must never show
// up in the parent's samples.
__attribute__((noinline)) static void *c_child_burn(void *arg) {
	double secs = *(double *)arg;
	uint64_t x = 1;
	double t0 = thread_cpu();
	while (thread_cpu() - t0 < secs)
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005ull + 1;
	return (void *)(uintptr_t)(x & 1);
}

// c_fork forks without exec: the child burns on its own thread (if
// thread is set; pthread_create goes through goprof's hook) and in itself,
// then leaves with _exit. Returns the child's pid once it is gone.
static int c_fork(double secs, int thread) {
	pid_t p = fork();
	if (p == 0) {
		pthread_t t;
		if (thread && pthread_create(&t, NULL, c_child_burn, &secs) == 0)
			pthread_join(t, NULL);
		c_child_burn(&secs);
		_exit(0);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
	return p;
}

// c_fork_exec forks and execs argv in the child (environ is inherited,
// LD_PRELOAD included). Returns the pid and the child's CPU seconds.
static int c_fork_exec(char **argv, double *cpu) {
	pid_t p = fork();
	if (p == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	struct rusage ru;
	int st;
	if (p > 0 && wait4(p, &st, 0, &ru) == p)
		*cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	return p;
}
*/
import "C"

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"unsafe"
)

func childArgs(exe string) []string {
	return []string{exe, "-mode", "child", "-seconds", fmt.Sprint(*seconds / 2)}
}

// execChildren starts -n children (2 by default) of itself with os/exec,
// one after the other, and prints each one's pid and CPU time.
func execChildren() {
	n := *count
	if n == 0 {
		n = 2
	}
	exe, _ := os.Executable()
	for i := 0; i < n; i++ {
		args := childArgs(exe)
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			say("child", "failed: %v", err)
			os.Exit(1)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		say("child", "%d cpu %.6f said %s", cmd.ProcessState.Pid(), cpu,
			strings.Join(strings.Fields(string(out)), " "))
	}
	burnAll(*seconds/2, *goroutines)
}

// child is what execChildren and forkExecHelper start: a short burn that
// reports what goprof left in its environment.
func child() {
	burnAll(*seconds, 1)
	say("parent-env", "%q", os.Getenv("GOPROF_PARENT_PID"))
}

// forkHelper forks without exec (from C, as a cgo helper would) while it
// burns; the child burns in C, on a thread of its own unless -n 1.
func forkHelper() {
	wait := background(*seconds)
	thread := C.int(0)
	if *count == 0 {
		thread = 1
	}
	pid := C.c_fork(C.double(*seconds/3), thread)
	say("forked", "%d", int(pid))
	wait()
}

// forkExecHelper forks and execs itself from C while it burns.
func forkExecHelper() {
	wait := background(*seconds)
	exe, _ := os.Executable()
	args := childArgs(exe)
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	var cpu C.double
	pid := C.c_fork_exec((**C.char)(unsafe.Pointer(&argv[0])), &cpu)
	say("child", "%d cpu %.6f", int(pid), float64(cpu))
	wait()
}
