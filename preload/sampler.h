/* The body of the signal handler for our samples. */
#ifndef GOPROF_SAMPLER_H
#define GOPROF_SAMPLER_H

#include <signal.h>

#include "ring.h"
#include "unwind.h"

extern struct ring *goprof_ring;

/* unwind: SF_UNWIND_* strategy. */
void sampler_init(const struct unwind_env *env, int unwind);
/* Async-signal-safe; called by the chained handler for our timer signals. */
void sampler_take(siginfo_t *si, void *ucontext);

#endif
