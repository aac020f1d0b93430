/* The body of the signal handler for our samples. */
#ifndef GOPROF_SAMPLER_H
#define GOPROF_SAMPLER_H

#include <signal.h>

#include "ring.h"
#include "unwind.h"

extern struct ring *goprof_ring;

void sampler_init(const struct unwind_env *env);
/* Async-signal-safe; called by the chained handler for our timer signals. */
void sampler_take(siginfo_t *si, void *ucontext);

#endif
