package main

/*
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_long c_user, c_other;

// A handler installed with glibc's signal(), which reaches the kernel
// through glibc's internal sigaction, not the exported one.
static void c_plain_handler(int sig) { (void)sig; atomic_fetch_add(&c_user, 1); }

static int c_install_signal(int sig) {
	return signal(sig, c_plain_handler) == SIG_ERR ? -1 : 0;
}

// A handler installed with the raw rt_sigaction system call, behind
// every libc entry point. It tells the signals a process sends (SI_USER,
// SI_TKILL) from anything else.
static void c_info_handler(int sig, siginfo_t *si, void *uc) {
	(void)sig; (void)uc;
	if (si->si_code == SI_USER || si->si_code == SI_TKILL)
		atomic_fetch_add(&c_user, 1);
	else
		atomic_fetch_add(&c_other, 1);
}

// The kernel returns from a handler through sa_restorer: without glibc's,
// we need our own.
void torture_restorer(void);
__asm__(".text\n.globl torture_restorer\ntorture_restorer:\n\tmov $15, %rax\n\tsyscall\n");

static int c_install_raw(int sig) {
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } k = {
		(void *)c_info_handler, SA_SIGINFO | SA_ONSTACK | SA_RESTART | 0x04000000,
		(void *)torture_restorer, ~0ull};
	return (int)syscall(SYS_rt_sigaction, sig, &k, 0, 8);
}

static long c_user_count(void) { return atomic_load(&c_user); }
static long c_other_count(void) { return atomic_load(&c_other); }
*/
import "C"

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// ourSig is goprof's signal (GOPROF_SIGNAL's default).
const ourSig = syscall.Signal(42)

// The signals the modes send themselves: standard ones, real-time ones
// and goprof's own (42 by default).
var sent = []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP,
	syscall.SIGWINCH, 40, 42, 43, 64}

// background burns CPU while a mode plays with signals, so that samples
// arrive the whole time. The returned func waits for it.
func background(secs float64) func() {
	done := make(chan struct{})
	go func() {
		burnAll(secs, *goroutines)
		close(done)
	}()
	return func() { <-done }
}

// waitFor receives from c until it has seen want of sig (other signals,
// such as the runtime's SIGURG, are counted and skipped) or a second
// passes without one.
func waitFor(c chan os.Signal, got map[syscall.Signal]int, sig syscall.Signal, want int) {
	for got[sig] < want {
		select {
		case s := <-c:
			got[s.(syscall.Signal)]++
		case <-time.After(time.Second):
			return
		}
	}
}

// quiet checks that nothing of sig arrives within 200 ms.
func quiet(c chan os.Signal, sig syscall.Signal) int {
	n := 0
	deadline := time.After(200 * time.Millisecond)
	for {
		select {
		case s := <-c:
			if s == sig {
				n++
			}
		case <-deadline:
			return n
		}
	}
}

// notifyAll asks for every signal, sends itself each of sent -n times
// (waiting for each one) and prints what arrived.
func notifyAll() {
	wait := background(*seconds)
	c := make(chan os.Signal, 4096)
	signal.Notify(c)
	got := map[syscall.Signal]int{}
	n := *count
	if n == 0 {
		n = 5
	}
	for _, sig := range sent {
		for k := 1; k <= n; k++ {
			syscall.Kill(os.Getpid(), sig)
			waitFor(c, got, sig, k)
		}
	}
	var out []string
	for _, sig := range sent {
		out = append(out, fmt.Sprintf("%d:%d", int(sig), got[sig]))
	}
	say("received", "%s", strings.Join(out, " "))
	wait()
}

// resetIgnore walks each signal through Notify, Reset, Ignore and Notify
// again, sending it once per step, and prints what arrived at each.
func resetIgnore() {
	wait := background(*seconds)
	for _, sig := range []syscall.Signal{ourSig, 43, syscall.SIGUSR1} {
		c := make(chan os.Signal, 16)
		got := map[syscall.Signal]int{}
		var steps []string
		signal.Notify(c, sig)
		syscall.Kill(os.Getpid(), sig)
		waitFor(c, got, sig, 1)
		steps = append(steps, fmt.Sprintf("notify:%d", got[sig]))
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig)
		steps = append(steps, fmt.Sprintf("reset:%d", quiet(c, sig)))
		signal.Ignore(sig)
		syscall.Kill(os.Getpid(), sig)
		steps = append(steps, fmt.Sprintf("ignore:%d ignored:%v", quiet(c, sig), signal.Ignored(sig)))
		got[sig] = 0
		signal.Notify(c, sig)
		syscall.Kill(os.Getpid(), sig)
		waitFor(c, got, sig, 1)
		steps = append(steps, fmt.Sprintf("renotify:%d", got[sig]))
		signal.Stop(c)
		say("steps", "%d %s", int(sig), strings.Join(steps, " "))
	}
	// Ignore leaves goprof's signal ignored for the rest of the run:
	// sampling must go on regardless.
	signal.Ignore(ourSig)
	wait()
}

// selfKill sends goprof's signal to itself -n times, to the process and to
// single threads, while it burns, and counts what its Notify channel got.
func selfKill() {
	wait := background(*seconds)
	c := make(chan os.Signal, 64)
	signal.Notify(c, ourSig)
	got := map[syscall.Signal]int{}
	n := *count
	if n == 0 {
		n = 20
	}
	for k := 1; k <= n; k++ {
		if k%2 == 0 {
			syscall.Kill(os.Getpid(), ourSig)
		} else {
			syscall.Tgkill(os.Getpid(), syscall.Gettid(), ourSig)
		}
		waitFor(c, got, ourSig, k)
		time.Sleep(time.Duration(*seconds*float64(time.Second)) / time.Duration(2*n))
	}
	say("selfkill", "sent %d received %d", n, got[ourSig])
	wait()
}

// cSignal installs a C handler on goprof's signal with glibc's signal(),
// then sends the signal to itself -n times while it burns.
func cSignal() {
	takeAndSend(func() C.int { return C.c_install_signal(42) }, "csignal")
}

// rawSig does the same through the raw rt_sigaction system call.
func rawSig() {
	takeAndSend(func() C.int { return C.c_install_raw(42) }, "rawsig")
}

func takeAndSend(install func() C.int, key string) {
	wait := background(*seconds)
	time.Sleep(time.Duration(*seconds*float64(time.Second)) / 4)
	if install() != 0 {
		say(key, "install failed")
		os.Exit(1)
	}
	n := *count
	if n == 0 {
		n = 10
	}
	for k := 1; k <= n; k++ {
		syscall.Kill(os.Getpid(), ourSig)
		for i := 0; i < 100 && int(C.c_user_count()) < k; i++ {
			time.Sleep(time.Millisecond)
		}
	}
	wait()
	say(key, "sent %d handled %d", n, int(C.c_user_count()))
	say(key+"-other", "%d", int(C.c_other_count()))
}
