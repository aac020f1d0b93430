/* GOPROF_FOLLOW_CHILDREN=0: only the first Go program is profiled, not the
 * processes it starts. LD_PRELOAD reaches them all, so the profiled
 * process leaves a mark in the environment they inherit: it replaces its
 * own GOPROF_FOLLOW_CHILDREN=0 entry with GOPROF_PARENT_PID=<its pid>, and
 * a process that finds that variable stays inert.
 *
 * The entry is replaced in place, in the array the kernel put on the
 * stack, before the Go runtime starts: the runtime reads its environment
 * from that array (argv[argc+1...]), not from libc's, so setenv() here
 * would never reach os/exec's children. */
#ifndef GOPROF_CHILDREN_H
#define GOPROF_CHILDREN_H

#include <stdbool.h>

#define CHILDREN_PARENT_VAR "GOPROF_PARENT_PID"

/* True in a descendant of a process profiled with GOPROF_FOLLOW_CHILDREN=0. */
bool children_is_descendant(void);
/* Marks the environment the process's children will inherit (envp: the
 * array the constructor got, the one the Go runtime reads). */
void children_mark(char **envp, int pid);

#endif
