/* The flame graph: one self-contained SVG file (its script and style
 * embedded, no network), laid out like FlameGraph's flamegraph.pl so that
 * its users feel at home: the root ("all") at the bottom, callees above,
 * width proportional to samples, children in name order. --reverse draws
 * the callers view as an icicle: leaf functions at the top, their callers
 * below. Frames narrower than --min-width pixels are left out (their
 * samples stay in their parent's width). */
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "flame_assets.h"
#include "frames.h"
#include "output.h"
#include "summary.h"
#include "xmlout.h"

enum { XPAD = 10, FONT = 12, FRAME_H = 16, TOP = 72, BOTTOM = 34 };

static const char *const class_names[FC_COUNT] = {"go", "rt", "sys", "c", "x"};
static const char *const class_legend[FC_COUNT] = {
    "Go", "Go runtime", "runtime on the system stack", "C", "other / unknown"};
#define MATCH_FILL "#e600e6"

/* A colour of the frame's class, varied by its name so that neighbours
 * differ and one function keeps its colour from picture to picture. */
static void colour(int cls, const char *name, char *out, size_t outlen)
{
    uint64_t h = hash_str(0x676f70726f66ull, name);
    double v1 = (double)(h & 0xffff) / 65535, v2 = (double)(h >> 16 & 0xffff) / 65535,
           v3 = (double)(h >> 32 & 0xffff) / 65535;
    int r, g, b;
    switch (cls) {
    case FC_GO: /* FlameGraph's "hot" */
        r = 205 + (int)(50 * v3), g = (int)(230 * v1), b = (int)(55 * v2);
        break;
    case FC_RUNTIME: /* aqua */
        r = 50 + (int)(60 * v1), g = 165 + (int)(55 * v1), b = 165 + (int)(55 * v1);
        break;
    case FC_SYSTEM: /* purple */
        r = 160 + (int)(40 * v1), g = 110 + (int)(40 * v2), b = 215 + (int)(40 * v3);
        break;
    case FC_C: /* green */
        r = 70 + (int)(60 * v1), g = 190 + (int)(55 * v2), b = 70 + (int)(50 * v3);
        break;
    default: /* grey */
        r = g = b = 175 + (int)(35 * v1);
    }
    snprintf(out, outlen, "#%02x%02x%02x", r, g, b);
}

/* Label that fits w pixels, as flame.js computes it: whole, cut with
 * "..", or nothing. */
static void label(FILE *out, const char *name, double w)
{
    double chars = (double)(long)((w - 6) / (FONT * 0.59));
    if (chars < 3)
        return;
    size_t n = utf8_chars(name);
    if ((double)n <= chars) {
        xml_text(out, name, SIZE_MAX);
    } else {
        xml_text(out, name, (size_t)chars - 2);
        fputs("..", out);
    }
}

struct geometry {
    unsigned width, height;
    double scale; /* pixels per sample */
    bool inverted;
};

static double frame_y(const struct geometry *g, uint32_t depth)
{
    return g->inverted ? TOP + (double)depth * FRAME_H
                       : g->height - BOTTOM - (double)(depth + 1) * FRAME_H;
}

static void frame(FILE *out, const struct report *r, const struct flame *fl,
                  const struct flame_node *n, const struct geometry *g)
{
    const char *name = n->func == FLAME_NONE ? "all" : func_display_name(r, n->func);
    double x = XPAD + (double)n->x * g->scale, w = (double)n->count * g->scale;
    double y = frame_y(g, n->depth);
    char fill[32];
    colour(n->cls, name, fill, sizeof fill);
    fprintf(out, "<g class=\"f %s\" data-x=\"%llu\" data-w=\"%llu\"><title>",
            class_names[n->cls], (unsigned long long)n->x, (unsigned long long)n->count);
    xml_text(out, name, SIZE_MAX);
    fprintf(out, " (%llu samples, %.2f%%)</title>", (unsigned long long)n->count,
            100.0 * (double)n->count / (double)fl->nodes[0].count);
    fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" "
                 "rx=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
            x, y, w, FRAME_H - 1, fill, x + 3, y + FRAME_H - 4.5);
    label(out, name, w);
    fputs("</text></g>\n", out);
}

static void head(FILE *out, const struct report *r, const struct view_opts *v,
                 const struct flame *fl, const struct geometry *g)
{
    struct summary s;
    summarize(r, &s);
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
                 "<svg version=\"1.1\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" "
                 "xmlns=\"http://www.w3.org/2000/svg\">\n",
            g->width, g->height, g->width, g->height);
    fprintf(out, "<style type=\"text/css\"><![CDATA[\n%s]]></style>\n", flame_css);
    fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\nwindow.GOPROF = {total: %llu, "
                 "width: %u, xpad: %d, font: %d, inverted: %s, match: \"%s\"};\n]]></script>\n",
            (unsigned long long)fl->nodes[0].count, g->width, XPAD, FONT,
            g->inverted ? "true" : "false", MATCH_FILL);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f4\"/>\n");
    fprintf(out, "<text id=\"title\" x=\"%u\" y=\"24\">", g->width / 2);
    if (v->title)
        xml_text(out, v->title, SIZE_MAX);
    else {
        xml_text(out, s.name, SIZE_MAX);
        fputs(v->reverse ? ": CPU callers (reversed stacks)" : ": CPU flame graph", out);
    }
    fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%u\" y=\"42\">", g->width / 2);
    fprintf(out, "%.2f s, %llu samples at %llu Hz (%s), %llu dropped, %llu threads, ",
            s.seconds, (unsigned long long)s.samples, (unsigned long long)s.hz, s.source,
            (unsigned long long)s.dropped, (unsigned long long)s.threads);
    xml_text(out, s.program, SIZE_MAX);
    if (s.files > 1)
        fprintf(out, " (%u files)", s.files);
    fputs("</text>\n", out);
    fprintf(out, "<text id=\"unzoom\" class=\"btn hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
                 "<text id=\"search\" class=\"btn\" x=\"%u\" y=\"24\">Search</text>\n",
            XPAD, g->width - XPAD);
    /* the legend: one swatch per colour class */
    double x = XPAD;
    for (int c = 0; c < FC_COUNT; c++) {
        char fill[32];
        colour(c, class_legend[c], fill, sizeof fill);
        fprintf(out, "<g class=\"legend %s\"><rect x=\"%.0f\" y=\"52\" width=\"12\" "
                     "height=\"12\" fill=\"%s\"/><text x=\"%.0f\" y=\"62\">%s</text></g>\n",
                class_names[c], x, fill, x + 16, class_legend[c]);
        x += 16 + FONT * 0.56 * (double)strlen(class_legend[c]) + 18;
    }
}

int write_svg(const struct report *r, const struct view_opts *v, FILE *out, char *err,
              size_t errlen)
{
    struct flame fl;
    if (flame_build(&fl, r, v->reverse, err, errlen) != 0)
        return -1;
    struct geometry g = {.width = v->width < 200 ? 200 : v->width, .inverted = v->reverse};
    g.height = TOP + BOTTOM + (fl.max_depth + 1) * FRAME_H;
    uint64_t total = fl.nodes[0].count;
    g.scale = total ? (double)(g.width - 2 * XPAD) / (double)total : 0;
    head(out, r, v, &fl, &g);
    if (!total)
        fprintf(out, "<text x=\"%u\" y=\"%u\" text-anchor=\"middle\">no samples</text>\n",
                g.width / 2, TOP + FRAME_H);
    for (size_t i = 0; total && i < fl.n; i++)
        if ((double)fl.nodes[i].count * g.scale >= v->min_width || i == 0)
            frame(out, r, &fl, &fl.nodes[i], &g);
    fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n"
                 "<text id=\"matched\" x=\"%u\" y=\"%u\"> </text>\n",
            XPAD, g.height - 12, g.width - XPAD, g.height - 12);
    fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n",
            flame_js);
    flame_free(&fl);
    if (ferror(out)) {
        snprintf(err, errlen, "write failed");
        return -1;
    }
    return 0;
}
