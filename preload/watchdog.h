/* Keeps our handler on our signal however the program changes it. */
#ifndef GOPROF_WATCHDOG_H
#define GOPROF_WATCHDOG_H

/* Starts the watching thread. Returns 0 or an errno value. */
int watchdog_start(void);

#endif
