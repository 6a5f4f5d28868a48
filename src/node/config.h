/* The node's configuration: time.conf (`key = value` lines, `#` or `;`
 * comments, an optional [main] section) and command-line flags with the same
 * names (`--rpc-listen 127.0.0.1:24201` or `--rpc-listen=…`), flags last so
 * they override the file. Every key is documented in docs/config.md; an
 * unknown key or a bad value stops the start with file:line and a hint. */
#ifndef TC_NODE_CONFIG_H
#define TC_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/params.h"
#include "rpc/client.h"
#include "util/err.h"

#define TC_CONFIG_PATH 512
#define TC_CONFIG_ADDR 80
#define TC_CONFIG_MAX_PEERS 64
#define TC_CONFIG_MAX_BYTES (1 << 20) /* a config file larger than this is refused */

typedef struct {
    char config_file[TC_CONFIG_PATH];
    const tc_netparams *net;
    bool network_given; /* network came from the file or a flag, not the default */
    bool operator_key_given; /* operator-key came from the file or a flag: it must exist */
    char datadir[TC_CONFIG_PATH];
    char genesis[TC_CONFIG_PATH];     /* default: <datadir>/genesis.json */
    char operator_key[TC_CONFIG_PATH]; /* validator key file; default <datadir>/operator.key */
    char listen[TC_CONFIG_ADDR];
    char external_address[TC_CONFIG_ADDR]; /* "" = none */
    char rpc_listen[TC_CONFIG_ADDR];
    char metrics_listen[TC_CONFIG_ADDR];
    char connect[TC_CONFIG_MAX_PEERS][TC_CONFIG_ADDR];
    size_t n_connect;
    char addnode[TC_CONFIG_MAX_PEERS][TC_CONFIG_ADDR];
    size_t n_addnode;
    char seednode[TC_CONFIG_MAX_PEERS][TC_CONFIG_ADDR];
    size_t n_seednode;
    char peer_address[TC_CONFIG_MAX_PEERS][2 * TC_CONFIG_ADDR]; /* "ADDR=DIAL" */
    size_t n_peer_address;
    int log_level;
    int log_format;
    char log_file[TC_CONFIG_PATH]; /* "" = stderr */
    char rpcuser[64];
    char rpcpassword[128];
    uint64_t max_inbound, max_outbound, inbound_per_minute, inbound_per_minute_per_group;
    uint64_t peer_timeout_s, ban_time_s;
    uint64_t request_rate, request_burst;
    uint64_t fork_query_timeout_s, fork_max_rollback;
    uint64_t mempool_max_txs, mempool_max_mb, mempool_expiry_h;
    uint64_t mempool_persist; /* 1: pending transactions in <datadir>/mempool.journal */
    int64_t block_interval_ms;       /* -1: from genesis */
    uint64_t empty_block_interval_ms;
    int64_t propose_timeout_ms, prevote_timeout_ms, precommit_timeout_ms; /* -1: from genesis */
    uint64_t heartbeat_interval_s;
    uint64_t store_map_mb;
    uint64_t store_map_bytes; /* not a config key: when set, overrides store_map_mb (the simulator's full disk) */
    char resume_signing[8]; /* "wait" | "now" (node/signhold.h) */
    uint64_t double_sign_check_height; /* certificates searched for this validator's key (node/signhold.h) */
    uint64_t rpc_max_connections, metrics_max_connections; /* HTTP clients at once */
    int argc;    /* the command line it was made from (tc_config_from_args), */
    char **argv; /* kept so that SIGHUP can read file and flags again */
} tc_config;

/* Defaults for every key (network devnet until set). */
void tc_config_defaults(tc_config *cfg);

/* Sets one key from text, as the file or a flag would. `where` names the
 * source for messages ("time.conf:12", "--listen"). 0 or TC_ECONFIG with e
 * saying what is wrong and how to fix it. */
int tc_config_set(tc_config *cfg, const char *key, const char *value, const char *where,
                  tc_errmsg *e) TC_MUST_CHECK;

/* Reads a config file into cfg. TC_EIO if it cannot be read, TC_ECONFIG if
 * it is not a regular file or larger than TC_CONFIG_MAX_BYTES, or (from
 * tc_config_parse) with "FILE:LINE: …" for a bad line. */
int tc_config_load(tc_config *cfg, const char *path, tc_errmsg *e) TC_MUST_CHECK;

/* Parses config text (len bytes, not NUL-terminated) into cfg, `path`
 * naming it in messages. TC_ECONFIG "PATH:LINE: …" for a NUL byte, a line
 * longer than the parser's limit (198 characters), a syntax error, an
 * unknown section or key, a bad value, or a single-value key given twice.
 * On error cfg may hold the keys before the bad line. */
int tc_config_parse(tc_config *cfg, const char *path, const char *text, size_t len, tc_errmsg *e) TC_MUST_CHECK;

/* Parses argv: --config FILE is read first, then every other flag applied in
 * order. --help / --version are left to the caller (see tc_config_wants).
 * Fills derived defaults (data-dir paths, ports of the network) at the end. */
int tc_config_from_args(tc_config *cfg, int argc, char **argv, tc_errmsg *e) TC_MUST_CHECK;

/* The RPC address and cookie of the node on datadir, for a client on this
 * machine: rpc-listen of <datadir>/time.conf (the network's default when
 * there is no time.conf or it sets none) and <datadir>/.cookie. */
int tc_config_rpc_target(tc_rpc_target *t, const char *datadir, tc_errmsg *e) TC_MUST_CHECK;

/* The P2P address this node tells peers to dial (version message,
 * heartbeats): external-address if set, else listen unless it is a
 * wildcard (0.0.0.0, [::]), else NULL: advertise nothing rather than an
 * address nobody can dial. Points into cfg. */
const char *tc_config_advertise(const tc_config *cfg);

/* Writes the key reference (name, default, meaning), one per line, to f. */
void tc_config_print_keys(void *file);

/* Number of keys and the name of key i (for docs tests). */
size_t tc_config_key_count(void);
const char *tc_config_key_name(size_t i);

#endif
