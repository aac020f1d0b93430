/* A scratch directory for a unit test's files: made by a group setup,
 * removed with everything in it by the group teardown. */
#ifndef GOPROF_TMPDIR_H
#define GOPROF_TMPDIR_H

/* The directory, valid between tmpdir_setup and tmpdir_teardown. */
extern char tmpdir[64];

/* cmocka group setup and teardown. */
int tmpdir_setup(void **state);
int tmpdir_teardown(void **state);

#endif
