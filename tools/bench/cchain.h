#ifndef GOPROF_CCHAIN_H
#define GOPROF_CCHAIN_H

/* Calls at_bottom(arg) under depth frames of C without frame pointers. */
int cchain(int depth, int (*at_bottom)(void *), void *arg);

#endif
