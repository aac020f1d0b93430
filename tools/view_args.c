#include "view_args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_REVERSE = 512, OPT_WIDTH, OPT_TITLE, OPT_MIN_WIDTH, OPT_NODECOUNT, OPT_FROM, OPT_TO,
    OPT_THREAD, OPT_GOROUTINE, OPT_FOCUS, OPT_IGNORE, OPT_CUM,
};

static const struct option ours[] = {
    {"reverse", no_argument, 0, OPT_REVERSE},
    {"width", required_argument, 0, OPT_WIDTH},
    {"title", required_argument, 0, OPT_TITLE},
    {"min-width", required_argument, 0, OPT_MIN_WIDTH},
    {"nodecount", required_argument, 0, OPT_NODECOUNT},
    {"cum", no_argument, 0, OPT_CUM},
    {"from", required_argument, 0, OPT_FROM},
    {"to", required_argument, 0, OPT_TO},
    {"thread", required_argument, 0, OPT_THREAD},
    {"goroutine", required_argument, 0, OPT_GOROUTINE},
    {"focus", required_argument, 0, OPT_FOCUS},
    {"ignore", required_argument, 0, OPT_IGNORE},
    {0, 0, 0, 0},
};

void view_args_usage(FILE *f)
{
    fputs(
"Views (--format=svg, --format=top):\n"
"      --reverse         svg: callers view drawn as an icicle: leaf functions on\n"
"                        top, their callers below\n"
"      --width PIXELS    svg: image width, 200-100000 (default 1200)\n"
"      --title TEXT      svg: title (default \"PROGRAM: CPU flame graph\")\n"
"      --min-width PX    svg: leave out frames narrower than this, 0-1000\n"
"                        (default 0.1)\n"
"      --nodecount N     top: rows to show (default 20; 0: all)\n"
"      --cum             top: sort by cum (time in a function and its callees)\n"
"                        instead of flat\n"
"\n"
"Filters (every format):\n"
"      --from SECONDS    only samples taken this long after the start or later\n"
"      --to SECONDS      only samples taken before this time since the start\n"
"      --thread LIST     only these threads: TIDs or thread names, comma-separated\n"
"      --goroutine LIST  only these goroutine ids, comma-separated\n"
"      --focus REGEX     only stacks through a function matching REGEX (POSIX\n"
"                        extended, unanchored)\n"
"      --ignore REGEX    drop stacks through a function matching REGEX\n",
        f);
}

void view_args_init(struct view_args *a)
{
    memset(a, 0, sizeof *a);
    a->view = (struct view_opts)VIEW_OPTS_DEFAULT;
    a->filter.to = -1;
}

void view_args_free(struct view_args *a)
{
    for (size_t i = 0; i < a->filter.nthreads; i++)
        free(a->filter.threads[i]);
    free(a->filter.threads);
    free(a->filter.goids);
    memset(a, 0, sizeof *a);
}

struct option *view_args_options(const struct option *base, struct option *out, size_t max)
{
    size_t nb = 0, no = sizeof ours / sizeof *ours;
    while (base[nb].name)
        nb++;
    if (nb + no > max)
        return NULL;
    memcpy(out, base, nb * sizeof *out);
    memcpy(out + nb, ours, no * sizeof *out);
    return out;
}

static int bad(const char *opt, const char *arg, const char *want)
{
    fprintf(stderr, "goprof-report: %s expects %s, got '%s'\n", opt, want, arg);
    return -1;
}

static bool number(const char *arg, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(arg, &end);
    if (errno || end == arg || *end || !(d >= lo && d <= hi))
        return false;
    *out = d;
    return true;
}

/* Appends each comma-separated item of arg; false on a bad goroutine id
 * or out of memory. */
static bool add_list(struct filter_spec *f, const char *arg, bool goroutines)
{
    char *copy = strdup(arg), *save = NULL;
    bool ok = copy != NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; ok && t;
         t = strtok_r(NULL, ",", &save)) {
        if (goroutines) {
            char *end;
            errno = 0;
            unsigned long long g = strtoull(t, &end, 10);
            uint64_t *p = realloc(f->goids, (f->ngoids + 1) * sizeof *p);
            ok = !errno && *end == 0 && end != t && *t != '-' && p;
            if (p)
                f->goids = p;
            if (ok)
                f->goids[f->ngoids++] = g;
        } else {
            char **p = realloc(f->threads, (f->nthreads + 1) * sizeof *p);
            ok = p && (p[f->nthreads] = strdup(t));
            if (p)
                f->threads = p;
            if (ok)
                f->nthreads++;
        }
    }
    free(copy);
    return ok && (goroutines ? f->ngoids : f->nthreads) > 0;
}

int view_args_parse(struct view_args *a, int opt, const char *arg)
{
    double d;
    switch (opt) {
    case OPT_REVERSE: a->view.reverse = true; return 1;
    case OPT_CUM: a->view.by_cum = true; return 1;
    case OPT_TITLE: a->view.title = arg; return 1;
    case OPT_WIDTH:
        if (!number(arg, 200, 100000, &d) || d != (unsigned)d)
            return bad("--width", arg, "a whole number of pixels from 200 to 100000");
        a->view.width = (unsigned)d;
        return 1;
    case OPT_MIN_WIDTH:
        if (!number(arg, 0, 1000, &d))
            return bad("--min-width", arg, "pixels from 0 to 1000");
        a->view.min_width = d;
        return 1;
    case OPT_NODECOUNT:
        if (!number(arg, 0, 1e9, &d) || d != (unsigned)d)
            return bad("--nodecount", arg, "a number of rows (0: all)");
        a->view.nodecount = (unsigned)d;
        return 1;
    case OPT_FROM:
    case OPT_TO:
        if (!number(arg, 0, 1e9, &d))
            return bad(opt == OPT_FROM ? "--from" : "--to", arg, "seconds since the start");
        *(opt == OPT_FROM ? &a->filter.from : &a->filter.to) = d;
        return 1;
    case OPT_THREAD:
    case OPT_GOROUTINE:
        if (!add_list(&a->filter, arg, opt == OPT_GOROUTINE))
            return bad(opt == OPT_THREAD ? "--thread" : "--goroutine", arg,
                       opt == OPT_THREAD ? "TIDs or thread names, comma-separated"
                                         : "goroutine ids, comma-separated");
        return 1;
    case OPT_FOCUS: a->filter.focus = arg; return 1;
    case OPT_IGNORE: a->filter.ignore = arg; return 1;
    default: return 0;
    }
}
