/* A C call chain compiled like cgo code usually is (-O2, no frame
 * pointers), for cunwind_bench. Kept in its own file: the Makefile builds
 * it without the project's -fno-omit-frame-pointer. */
#include "cchain.h"

__attribute__((noinline)) int cchain(int depth, int (*at_bottom)(void *), void *arg)
{
    if (depth <= 0)
        return at_bottom(arg);
    volatile char pad[48]; /* a frame of some size, like real code */
    pad[depth % 48] = (char)depth;
    return cchain(depth - 1, at_bottom, arg) + pad[depth % 48];
}
