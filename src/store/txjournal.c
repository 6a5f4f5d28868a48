#include "store/txjournal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/file.h"
#include "util/mem.h"

#define MAGIC 0x4a544354u /* "TCTJ" little-endian */
#define HEAD 8u           /* magic, len */
#define CHECK_SIZE 8u
_Static_assert(TC_TXJOURNAL_OVERHEAD == HEAD + CHECK_SIZE, "overhead is the framing");

struct tc_txjournal {
    int fd;
    char *path;
    uint64_t size; /* bytes of whole, good records */
    bool dirty;    /* appended since the last sync */
    tc_buf frame;  /* reused for appends */
};

static void frame_check(const uint8_t *head, const uint8_t *p, size_t len, uint8_t out[CHECK_SIZE])
{
    tc_hasher h;
    tc_hash d;
    tc_hasher_init(&h, TC_H_WAL);
    tc_hasher_update(&h, head, HEAD);
    tc_hasher_update(&h, p, len);
    tc_hasher_final(&h, &d);
    memcpy(out, d.b, CHECK_SIZE);
}

static void put_frame(tc_buf *b, const uint8_t *p, size_t len)
{
    uint8_t *f = tc_buf_extend(b, HEAD + len + CHECK_SIZE);
    tc_le32(f, MAGIC);
    tc_le32(f + 4, (uint32_t)len);
    memcpy(f + HEAD, p, len);
    frame_check(f, p, len, f + HEAD + len);
}

static int io_err(void)
{
    return errno == ENOSPC || errno == EDQUOT ? TC_ESTORE_FULL : TC_EIO;
}

/* One record at off: its payload length, or 0 if what is there is not a
 * whole good record. The length is checked against the limit and against
 * the bytes the file still has before anything is read on its word. */
static size_t read_record(int fd, uint64_t off, uint64_t total, tc_buf *b)
{
    uint8_t head[HEAD], check[CHECK_SIZE];
    if (total - off < TC_TXJOURNAL_OVERHEAD || !tc_file_pread_all(fd, head, HEAD, (off_t)off))
        return 0;
    uint32_t len = tc_get_le32(head + 4);
    if (tc_get_le32(head) != MAGIC || len == 0 || len > TC_TXJOURNAL_MAX_RECORD ||
        len > total - off - TC_TXJOURNAL_OVERHEAD)
        return 0;
    tc_buf_reset(b);
    uint8_t *p = tc_buf_extend(b, (size_t)len + CHECK_SIZE);
    if (!tc_file_pread_all(fd, p, (size_t)len + CHECK_SIZE, (off_t)(off + HEAD)))
        return 0;
    frame_check(head, p, len, check);
    return memcmp(check, p + len, CHECK_SIZE) == 0 ? len : 0;
}

static int scan(tc_txjournal *j, tc_txjournal_each each, void *ctx, tc_txjournal_info *info)
{
    struct stat st;
    if (fstat(j->fd, &st) != 0)
        return TC_EIO;
    uint64_t total = (uint64_t)st.st_size, off = 0;
    tc_buf b;
    tc_buf_init(&b);
    size_t len;
    while (off < total && (len = read_record(j->fd, off, total, &b)) != 0) {
        if (each)
            each(ctx, b.p, len);
        info->records++;
        off += len + TC_TXJOURNAL_OVERHEAD;
    }
    tc_buf_release(&b);
    j->size = info->bytes = off;
    info->dropped = total - off;
    if (off == total)
        return 0;
    tc_log_warn("mempool", "journal tail torn or corrupt, ignored", "path=%s offset=%llu dropped=%llu loaded=%llu",
                j->path, (unsigned long long)off, (unsigned long long)(total - off),
                (unsigned long long)info->records);
    if (ftruncate(j->fd, (off_t)off) != 0 || fsync(j->fd) != 0)
        return TC_EIO;
    return 0;
}

int tc_txjournal_open(tc_txjournal **out, const char *path, tc_txjournal_each each, void *ctx,
                      tc_txjournal_info *info)
{
    tc_txjournal_info local;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    *out = NULL;
    struct stat st;
    bool created = stat(path, &st) != 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return TC_EIO;
    tc_txjournal *j = tc_xcalloc(1, sizeof *j);
    j->fd = fd;
    j->path = tc_xstrdup(path);
    tc_buf_init(&j->frame);
    int rc = scan(j, each, ctx, info);
    if (rc == 0 && created)
        rc = tc_file_fsync_dir_of(path);
    if (rc) {
        tc_txjournal_close(j);
        return rc;
    }
    *out = j;
    return 0;
}

int tc_txjournal_append(tc_txjournal *j, const uint8_t *p, size_t len)
{
    if (len == 0 || len > TC_TXJOURNAL_MAX_RECORD)
        return TC_EINVAL;
    tc_buf_reset(&j->frame);
    put_frame(&j->frame, p, len);
    /* A failed write leaves size where it was: the next append overwrites
     * the partial bytes, and open cuts them off if none comes. */
    int rc = tc_file_pwrite_all(j->fd, j->frame.p, j->frame.len, (off_t)j->size);
    if (rc)
        return rc;
    j->size += j->frame.len;
    j->dirty = true;
    return 0;
}

int tc_txjournal_sync(tc_txjournal *j)
{
    if (!j->dirty)
        return 0;
    if (fdatasync(j->fd) != 0)
        return io_err();
    j->dirty = false;
    return 0;
}

int tc_txjournal_rewrite(tc_txjournal *j, const uint8_t *const *recs, const size_t *lens, size_t n)
{
    size_t tn = strlen(j->path) + 5;
    char *tmp = tc_xmalloc(tn);
    snprintf(tmp, tn, "%s.tmp", j->path);
    tc_buf all;
    tc_buf_init(&all);
    int rc = TC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0 || lens[i] > TC_TXJOURNAL_MAX_RECORD)
            goto out;
        put_frame(&all, recs[i], lens[i]);
    }
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    rc = fd < 0 ? io_err() : 0;
    if (rc)
        goto out;
    if ((rc = tc_file_pwrite_all(fd, all.p, all.len, 0)) != 0 || (rc = fsync(fd) == 0 ? 0 : io_err()) != 0 ||
        (rc = rename(tmp, j->path) == 0 ? 0 : TC_EIO) != 0) {
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(j->fd);
    j->fd = fd;
    j->size = all.len;
    j->dirty = false;
    rc = tc_file_fsync_dir_of(j->path);
out:
    tc_buf_release(&all);
    free(tmp);
    return rc;
}

uint64_t tc_txjournal_size(const tc_txjournal *j)
{
    return j->size;
}

void tc_txjournal_close(tc_txjournal *j)
{
    if (j == NULL)
        return;
    close(j->fd);
    tc_buf_release(&j->frame);
    free(j->path);
    free(j);
}
