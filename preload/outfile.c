#define _GNU_SOURCE
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/* samples.zst -> samples.<pid>.zst (or name.<pid> without an extension). */
static void alt_name(const char *path, int pid, int attempt, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    int stem = dot ? (int)(dot - path) : (int)strlen(path);
    char tag[32];
    if (attempt)
        snprintf(tag, sizeof tag, "%d-%d", pid, attempt);
    else
        snprintf(tag, sizeof tag, "%d", pid);
    snprintf(out, outlen, "%.*s.%s%s", stem, path, tag, dot ? dot : "");
}

int outfile_open(const char *pattern, int pid, char *path, size_t pathlen)
{
    char want[PATH_MAX];
    if (config_expand_out(pattern, pid, want, sizeof want) != 0) {
        goprof_log("GOPROF_OUT=%s expands to more than %d bytes; profiling disabled", pattern,
                   PATH_MAX - 1);
        return -1;
    }
    snprintf(path, pathlen, "%s", want);
    for (int attempt = 0; attempt < 8; attempt++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            goprof_log("cannot create the sample file %s: %s; profiling disabled "
                       "(set GOPROF_OUT to a writable path)", path, strerror(errno));
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            if (ftruncate(fd, 0) != 0) {
                goprof_log("cannot truncate the sample file %s: %s; profiling disabled",
                           path, strerror(errno));
                close(fd);
                return -1;
            }
            if (attempt)
                goprof_log("%s is being written by another live process; "
                           "this process writes %s", want, path);
            return fd;
        }
        close(fd);
        alt_name(want, pid, attempt, path, pathlen);
    }
    goprof_log("cannot find a free name for the sample file near %s; profiling disabled", want);
    return -1;
}
