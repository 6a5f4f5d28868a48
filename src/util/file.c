#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tc_file_fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return TC_EIO;
    int rc = fsync(dfd) == 0 ? 0 : TC_EIO;
    close(dfd);
    return rc;
}

int tc_file_pwrite_all(int fd, const void *data, size_t n, off_t at)
{
    const uint8_t *p = data;
    while (n) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == ENOSPC || errno == EDQUOT ? TC_ESTORE_FULL : TC_EIO;
        if (w == 0)
            return TC_EIO;
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

bool tc_file_pread_all(int fd, void *data, size_t n, off_t at)
{
    uint8_t *p = data;
    while (n) {
        ssize_t r = pread(fd, p, n, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
        at += r;
    }
    return true;
}

/* Gives tmp the final name: rename when replacing, else link (fails with
 * EEXIST if path exists, atomically). Filesystems without hard links fall
 * back to a check then rename. Returns 0 or -1 with errno set. */
static int publish(const char *tmp, const char *path, bool replace)
{
    if (replace)
        return rename(tmp, path);
    if (link(tmp, path) == 0) {
        unlink(tmp);
        return 0;
    }
    if (errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP)
        return -1;
    if (access(path, F_OK) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(tmp, path);
}

int tc_file_write(const char *path, const void *data, size_t n, mode_t mode, bool replace, tc_errmsg *e)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return tc_fail(e, TC_EINVAL, "%s: path too long", path);
    if (!replace && access(path, F_OK) == 0)
        return tc_fail(e, TC_EEXIST, "%s: already exists; refusing to overwrite it", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return tc_fail(e, errno == ENOSPC ? TC_ESTORE_FULL : TC_EIO, "%s: cannot create a file next to it: %s",
                       path, strerror(errno));
    int ok = fchmod(fd, mode) == 0 && write_all(fd, data, n) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && publish(tmp, path, replace) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        if (saved == EEXIST)
            return tc_fail(e, TC_EEXIST, "%s: already exists; refusing to overwrite it", path);
        return tc_fail(e, saved == ENOSPC ? TC_ESTORE_FULL : TC_EIO, "%s: cannot write: %s", path, strerror(saved));
    }
    (void)tc_file_fsync_dir_of(path);
    return 0;
}

void tc_file_free(char *p, bool secure)
{
    if (secure)
        sodium_free(p); /* wipes; NULL is a no-op */
    else
        free(p);
}

int tc_file_read(const char *path, size_t max, bool secure, char **out, size_t *n, tc_errmsg *e)
{
    *out = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return tc_fail(e, TC_ENOTFOUND, "%s: no such file", path);
        return tc_fail(e, TC_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat st;
    int err = 0;
    char *p = NULL;
    size_t len = 0, size = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = tc_fail(e, TC_EIO, "%s: not a regular file", path);
        goto out;
    }
    if ((uintmax_t)st.st_size > max) {
        err = tc_fail(e, TC_ELIMIT, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    size = (size_t)st.st_size;
    p = secure ? sodium_malloc(size + 1) : tc_xmalloc(size + 1);
    if (p == NULL) {
        err = tc_fail(e, TC_ECRYPTO, "%s: cannot allocate secure memory", path);
        goto out;
    }
    while (len < size) {
        ssize_t r = read(fd, p + len, size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err = tc_fail(e, TC_EIO, "%s: read error: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break; /* shrank while reading: take what is there */
        len += (size_t)r;
    }
    p[len] = '\0';
out:
    close(fd);
    if (err) {
        tc_file_free(p, secure);
        return err;
    }
    *out = p;
    *n = len;
    return 0;
}
