#include "node/datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/hex.h"
#include "util/mem.h"

struct tc_datadir {
    char *path;
    int lock_fd;
};

int tc_datadir_open(tc_datadir **out, const char *path, tc_errmsg *e)
{
    char lock[PATH_MAX];
    *out = NULL;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return tc_fail(e, TC_EIO, "%s: cannot create data dir: %s", path, strerror(errno));
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return tc_fail(e, TC_EIO, "%s: not a directory", path);
    snprintf(lock, sizeof lock, "%s/%s", path, TC_DATADIR_LOCK);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return tc_fail(e, TC_EIO, "%s: cannot open lock file: %s", lock, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        return tc_fail(e, TC_ELOCKED, "%s: data dir in use by another timed%s%s%s", path, pid[0] ? " (pid " : "",
                       pid, pid[0] ? ")" : "");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        int saved = errno;
        close(fd);
        return tc_fail(e, TC_EIO, "%s: cannot write lock file: %s", lock, strerror(saved));
    }
    tc_datadir *d = tc_xcalloc(1, sizeof *d);
    d->path = tc_xstrdup(path);
    d->lock_fd = fd;
    *out = d;
    return 0;
}

void tc_datadir_close(tc_datadir *d)
{
    if (d == NULL)
        return;
    close(d->lock_fd); /* releases the flock */
    free(d->path);
    free(d);
}

const char *tc_datadir_path(const tc_datadir *d)
{
    return d->path;
}
