/* Member offsets of struct types, read from a Go binary's DWARF without
 * libdw, cheaply enough to do for every profiled program.
 *
 * libdw's dwarf_begin inflates every compressed .debug_* section up front
 * (~12 ms for a 3 MB Go binary here), though the runtime's struct types
 * take a few kilobytes of .debug_info. This reader inflates .debug_info
 * only as far as it reads it, skips every compile unit not named after the
 * package by its header's length, parses the DIEs of that package's units
 * with the unit's abbreviation table, and stops once every struct asked
 * for has been read. It reads DWARF 2 to 5, 32- and 64-bit units, plain,
 * SHF_COMPRESSED (zlib) and .zdebug_ sections (Go 1.18). Every read is
 * bounds-checked: a malformed file gives an error, never a fault. */
#ifndef GOPROF_GODWARF_H
#define GOPROF_GODWARF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elfimage.h"

struct godwarf_want {
    const char *type;   /* "runtime.g" */
    const char *member; /* "goid" */
    uint32_t off;       /* out: DW_AT_data_member_location */
    bool found;         /* out */
};

/* Fills w[i].off/found for the members of the struct types (DW_TAG_
 * structure_type children of a unit named unit) that w names. Returns 0
 * when every type named in w was found (members may still be missing),
 * 1 when the file has no .debug_info, -1 on an unreadable or incomplete
 * one; both with the reason in why. */
/* Does the file have a .debug_info (plain or compressed)? Cheap: looks at
 * section headers only. */
bool godwarf_present(const struct elfimg *img);

int godwarf_members(const struct elfimg *img, const char *unit, struct godwarf_want *w,
                    size_t nw, char *why, size_t whylen);

#endif
