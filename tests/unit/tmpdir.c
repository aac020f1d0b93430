#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>

char tmpdir[64];

int tmpdir_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/goprof-unit-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

int tmpdir_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}
