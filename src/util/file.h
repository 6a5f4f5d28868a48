/* Whole-file reads and writes (wallet files, devnet layouts, key files, the
 * RPC cookie, the locked consensus block): a write goes through a temporary file in the same directory that
 * is fsynced before it takes the final name, so a crash leaves the old file or
 * the new one, never a torn mix. */
#ifndef TC_UTIL_FILE_H
#define TC_UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* Writes n bytes of data to path with the given mode (e.g. 0600), atomically.
 * replace: an existing file is replaced; otherwise an existing path is refused
 * with TC_EEXIST and left alone (no window in which it could be clobbered).
 * TC_EIO / TC_ESTORE_FULL (disk full) with the path in e; nothing is left
 * behind on failure. */
int tc_file_write(const char *path, const void *data, size_t n, mode_t mode, bool replace,
                   tc_errmsg *e) TC_MUST_CHECK;

/* Reads the whole file at path (at most max bytes) into memory the caller
 * frees with tc_file_free(p, secure). secure: the buffer comes from
 * sodium_malloc and is wiped on free. A NUL follows the data (not counted).
 * TC_ENOTFOUND if absent, TC_ELIMIT if larger than max, TC_EIO otherwise. */
int tc_file_read(const char *path, size_t max, bool secure, char **out, size_t *n, tc_errmsg *e) TC_MUST_CHECK;
void tc_file_free(char *p, bool secure); /* NULL is a no-op */

/* Appending logs (the sign log, the mempool journal) write in place:
 * tc_file_pwrite_all writes all n bytes at offset at (retrying short writes
 * and EINTR): 0, TC_ESTORE_FULL (disk full) or TC_EIO. tc_file_pread_all
 * reads exactly n bytes at at; false on an error or a short file.
 * tc_file_fsync_dir_of syncs the directory holding path (after a create or
 * a rename): 0 or TC_EIO. */
int tc_file_pwrite_all(int fd, const void *data, size_t n, off_t at) TC_MUST_CHECK;
bool tc_file_pread_all(int fd, void *data, size_t n, off_t at);
int tc_file_fsync_dir_of(const char *path);

#endif
