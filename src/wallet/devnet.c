#include "wallet/devnet.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/genesis.h"
#include "chain/params.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/file.h"
#include "wallet/keyfile.h"
#include "wallet/wallet.h"

#define MAX_DIR 400 /* leaves room for "/node63/operator.key" in config paths */
#define NODE_PATH (PATH_MAX + 32) /* DIR/node<i> */
#define FILE_PATH (PATH_MAX + 64) /* DIR/node<i>/<file> */

/* Files and directories this call made, removed again if it fails. */
typedef struct {
    char **path;
    bool *is_dir;
    size_t n, cap;
} undo_list;

static void undo_add(undo_list *u, const char *path, bool is_dir)
{
    if (u->n == u->cap) {
        u->cap = u->cap ? 2 * u->cap : 16;
        u->path = tc_xrealloc(u->path, u->cap * sizeof *u->path);
        u->is_dir = tc_xrealloc(u->is_dir, u->cap * sizeof *u->is_dir);
    }
    u->path[u->n] = tc_xstrdup(path);
    u->is_dir[u->n++] = is_dir;
}

/* Removes in reverse order when rollback is set; frees the list. */
static void undo_finish(undo_list *u, bool rollback)
{
    for (size_t i = u->n; i-- > 0;) {
        if (rollback)
            (void)(u->is_dir[i] ? rmdir(u->path[i]) : unlink(u->path[i]));
        free(u->path[i]);
    }
    free(u->path);
    free(u->is_dir);
}

static const char *const node_files[] = {"time.conf", "operator.key", "owner.key"};

/* Refuses if any file of the layout is already there. */
static int check_free(const char *dir, size_t nodes, tc_errmsg *e)
{
    char p[FILE_PATH];
    snprintf(p, sizeof p, "%s/genesis.json", dir);
    if (access(p, F_OK) == 0)
        return tc_fail(e, TC_EEXIST, "%s: already exists; refusing to overwrite a devnet (remove %s to start afresh)",
                       p, dir);
    snprintf(p, sizeof p, "%s/faucet.wallet", dir);
    if (access(p, F_OK) == 0)
        return tc_fail(e, TC_EEXIST, "%s: already exists; refusing to overwrite it", p);
    for (size_t i = 0; i < nodes; i++) {
        for (size_t f = 0; f < sizeof node_files / sizeof node_files[0]; f++) {
            snprintf(p, sizeof p, "%s/node%zu/%s", dir, i, node_files[f]);
            if (access(p, F_OK) == 0)
                return tc_fail(e, TC_EEXIST, "%s: already exists; refusing to overwrite it", p);
        }
    }
    return 0;
}

/* The directory, created if needed, as an absolute path that a time.conf
 * value can hold. */
static int make_dir(const char *dir, char abs[PATH_MAX], undo_list *u, tc_errmsg *e)
{
    if (mkdir(dir, 0755) == 0)
        undo_add(u, dir, true);
    else if (errno != EEXIST)
        return tc_fail(e, TC_EIO, "%s: cannot create the devnet directory: %s", dir, strerror(errno));
    if (realpath(dir, abs) == NULL)
        return tc_fail(e, TC_EIO, "%s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(abs, &st) != 0 || !S_ISDIR(st.st_mode))
        return tc_fail(e, TC_EINVAL, "%s: not a directory", dir);
    if (strlen(abs) > MAX_DIR || strpbrk(abs, "\n\r#;\"") != NULL)
        return tc_fail(e, TC_EINVAL, "%s: the devnet directory must be an absolute path of at most %d characters "
                       "without newlines, '#', ';' or '\"' (it goes into time.conf)", abs, MAX_DIR);
    return 0;
}

static int write_text(const char *path, const char *text, undo_list *u, tc_errmsg *e)
{
    int err = tc_file_write(path, text, strlen(text), 0644, false, e);
    if (err == 0)
        undo_add(u, path, false);
    return err;
}

static void put(tc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(tc_buf *b, const char *fmt, ...)
{
    char line[FILE_PATH + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    tc_buf_put(b, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

static int write_conf(const char *abs, size_t i, size_t nodes, unsigned base, undo_list *u, tc_errmsg *e)
{
    char node[NODE_PATH], path[FILE_PATH];
    tc_buf b;
    tc_buf_init(&b);
    snprintf(node, sizeof node, "%s/node%zu", abs, i);
    unsigned port = base + 10 * (unsigned)i;
    put(&b, "# TimeCoin devnet node %zu (time-cli devnet init); run: timed --config %s/time.conf\n", i, node);
    put(&b, "network = devnet\n");
    put(&b, "datadir = %s\n", node);
    put(&b, "genesis = %s/genesis.json\n", abs);
    put(&b, "operator-key = %s/operator.key\n", node);
    put(&b, "listen = 127.0.0.1:%u\n", port);
    put(&b, "rpc-listen = 127.0.0.1:%u\n", port + 1);
    put(&b, "metrics-listen = 127.0.0.1:%u\n", port + 2);
    for (size_t j = 0; j < nodes; j++)
        if (j != i)
            put(&b, "connect = 127.0.0.1:%u\n", base + 10 * (unsigned)j);
    put(&b, "log-format = logfmt\n");
    tc_buf_u8(&b, 0);
    snprintf(path, sizeof path, "%s/time.conf", node);
    int err = write_text(path, (const char *)b.p, u, e);
    tc_buf_release(&b);
    return err;
}

static json_t *address_json(const tc_pubkey *pk)
{
    tc_address a;
    char s[TC_ADDR_STRLEN];
    tc_address_from_pubkey(&a, pk);
    if (tc_address_encode(s, &a, tc_params_by_name("devnet")->hrp) != 0)
        abort(); /* static prefix */
    return json_string(s);
}

static json_t *hex32(const uint8_t *p)
{
    char s[65];
    return json_string(tc_hex_encode(s, p, 32));
}

/* Node i's directory and keys; its genesis entry is appended to mns. */
static int write_node(const char *abs, size_t i, unsigned base, json_t *mns, undo_list *u, tc_errmsg *e)
{
    char node[NODE_PATH], path[FILE_PATH], netaddr[32];
    tc_keypair op, owner;
    int err = 0;
    snprintf(node, sizeof node, "%s/node%zu", abs, i);
    if (mkdir(node, 0700) == 0)
        undo_add(u, node, true);
    else if (errno != EEXIST)
        return tc_fail(e, TC_EIO, "%s: cannot create: %s", node, strerror(errno));
    tc_keypair_generate(&op);
    tc_keypair_generate(&owner);
    snprintf(path, sizeof path, "%s/operator.key", node);
    if ((err = tc_keyfile_write(path, &op, e)))
        goto out;
    undo_add(u, path, false);
    snprintf(path, sizeof path, "%s/owner.key", node);
    if ((err = tc_keyfile_write(path, &owner, e)))
        goto out;
    undo_add(u, path, false);
    snprintf(netaddr, sizeof netaddr, "127.0.0.1:%u", base + 10 * (unsigned)i);
    json_t *m = json_object();
    json_object_set_new(m, "tier", json_string("bronze"));
    json_object_set_new(m, "owner_pubkey", hex32(owner.pk.b));
    json_object_set_new(m, "operator_pubkey", hex32(op.pk.b));
    json_object_set_new(m, "reward_address", address_json(&owner.pk));
    json_object_set_new(m, "netaddr", json_string(netaddr));
    json_array_append_new(mns, m);
out:
    tc_keypair_wipe(&op);
    tc_keypair_wipe(&owner);
    return err;
}

static json_t *consensus_json(void)
{
    /* Fast enough to watch, slack enough for a loaded laptop. */
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "propose_timeout_ms", 1000, "propose_delta_ms",
                     500, "prevote_timeout_ms", 500, "prevote_delta_ms", 250, "precommit_timeout_ms", 500,
                     "precommit_delta_ms", 250, "block_interval_ms", 1000, "activation_delay", 5,
                     "jail_after_missed", 30);
}

/* Dumps the genesis document, checks it parses, and writes it. */
static int write_genesis(const char *abs, json_t *root, undo_list *u, tc_errmsg *e)
{
    char path[FILE_PATH];
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL)
        abort(); /* out of memory inside jansson */
    size_t n = strlen(text);
    char *withnl = tc_xmalloc(n + 2);
    memcpy(withnl, text, n);
    memcpy(withnl + n, "\n", 2);
    free(text);
    tc_genesis g;
    tc_errmsg inner;
    int err = tc_genesis_parse(&g, withnl, n + 1, &inner);
    if (err) /* a bug here, but say so instead of writing a broken devnet */
        err = tc_fail(e, err, "generated genesis does not parse: %s", inner.msg);
    else
        tc_genesis_release(&g);
    snprintf(path, sizeof path, "%s/genesis.json", abs);
    if (err == 0)
        err = write_text(path, withnl, u, e);
    free(withnl);
    return err;
}

int tc_devnet_init(const tc_devnet_opts *o, tc_devnet_result *res, tc_errmsg *e)
{
    const tc_netparams *net = tc_params_by_name("devnet");
    unsigned base = o->base_port ? o->base_port : net->p2p_port;
    char abs[PATH_MAX], path[FILE_PATH];
    undo_list u = {0};
    json_t *root = NULL, *mns = NULL;
    tc_wallet *faucet = NULL;
    int err;
    if (o->dir == NULL || o->dir[0] == '\0')
        return tc_fail(e, TC_EINVAL, "devnet: no directory given");
    if (o->nodes < 1 || o->nodes > TC_DEVNET_MAX_NODES)
        return tc_fail(e, TC_EINVAL, "devnet: --nodes must be from 1 to %d, got %zu", TC_DEVNET_MAX_NODES, o->nodes);
    if (base < 1 || base + 10 * (o->nodes - 1) + 2 > 65535)
        return tc_fail(e, TC_EINVAL, "devnet: ports %u to %zu do not fit below 65536", base,
                       base + 10 * (o->nodes - 1) + 2);
    if (tc_crypto_init() != 0)
        return tc_fail(e, TC_ECRYPTO, "libsodium failed to initialize");
    if ((err = make_dir(o->dir, abs, &u, e)) || (err = check_free(abs, o->nodes, e)))
        goto out;

    mns = json_array();
    for (size_t i = 0; i < o->nodes; i++)
        if ((err = write_node(abs, i, base, mns, &u, e)) || (err = write_conf(abs, i, o->nodes, base, &u, e)))
            goto out;

    snprintf(path, sizeof path, "%s/faucet.wallet", abs);
    if ((err = tc_wallet_create(&faucet, path, net, NULL, NULL, e)))
        goto out;
    undo_add(&u, path, false);
    char faucet_addr[TC_ADDR_STRLEN], amount[32];
    tc_wallet_address_str(faucet, 0, faucet_addr);
    snprintf(amount, sizeof amount, "%llu", TC_DEVNET_FAUCET_TIME);

    root = json_object();
    json_object_set_new(root, "network", json_string(net->name));
    json_object_set_new(root, "chain_id", json_integer(net->chain_id));
    json_object_set_new(root, "time_ms", json_integer((json_int_t)(o->time_ms ? o->time_ms : tc_clock_wall_ms())));
    json_object_set_new(root, "allocations", json_pack("[{s:s, s:s}]", "address", faucet_addr, "amount", amount));
    json_object_set(root, "masternodes", mns);
    json_object_set_new(root, "consensus", consensus_json());
    if ((err = write_genesis(abs, root, &u, e)))
        goto out;
    if (res) {
        snprintf(res->dir, sizeof res->dir, "%s", abs);
        snprintf(res->faucet, sizeof res->faucet, "%s", faucet_addr);
    }
out:
    tc_wallet_free(faucet);
    json_decref(root);
    json_decref(mns);
    undo_finish(&u, err != 0);
    return err;
}
