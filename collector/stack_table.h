/* De-duplication of stacks in the collector: each distinct (flags, PCs)
 * sequence gets a small id, written once to the file. */
#ifndef GOPROF_STACK_TABLE_H
#define GOPROF_STACK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stack_table;

struct stack_table *stack_table_new(void);
void stack_table_free(struct stack_table *t);
/* Returns the id of the stack, adding it if new (*is_new set); -1 on OOM. */
int64_t stack_table_intern(struct stack_table *t, const uint64_t *pcs, uint32_t n,
                           uint32_t flags, bool *is_new);
size_t stack_table_count(const struct stack_table *t);

#endif
