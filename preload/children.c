#define _GNU_SOURCE
#include "children.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOLLOW_VAR "GOPROF_FOLLOW_CHILDREN="

extern char **environ;

bool children_is_descendant(void)
{
    const char *v = getenv(CHILDREN_PARENT_VAR);
    return v && *v;
}

/* Points the entry for GOPROF_FOLLOW_CHILDREN in env at mark instead. */
static void replace(char **env, char *mark)
{
    for (char **e = env; e && *e; e++)
        if (!strncmp(*e, FOLLOW_VAR, sizeof FOLLOW_VAR - 1)) {
            *e = mark;
            return;
        }
}

void children_mark(char **envp, int pid)
{
    /* Ours for the life of the process: the environment keeps pointing at it. */
    static char mark[64];
    snprintf(mark, sizeof mark, CHILDREN_PARENT_VAR "=%d", pid);
    replace(envp, mark);
    if (environ != envp)
        replace(environ, mark);
}
