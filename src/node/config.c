#include "node/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/p2p.h"
#include "net/route.h"
#include "util/log.h"
#include "util/mem.h"

enum kind { K_PATH, K_ADDR, K_PEER, K_LIST, K_ROUTE, K_UINT, K_INT, K_LEVEL, K_FORMAT, K_NETWORK, K_TEXT };

typedef struct {
    const char *name;
    enum kind kind;
    size_t off;       /* field in tc_config */
    size_t size;      /* string capacity, or list entry size */
    size_t count_off; /* K_LIST, K_ROUTE: the count field */
    int64_t min, max; /* K_UINT / K_INT */
    const char *def;  /* default as text ("" = derived at the end) */
    const char *help;
} key_def;

#define F(field) offsetof(tc_config, field), sizeof(((tc_config *)0)->field)
#define L(field) offsetof(tc_config, field), sizeof(((tc_config *)0)->field[0]), offsetof(tc_config, n_##field)

static const key_def keys[] = {
    {"network", K_NETWORK, F(net), 0, 0, 0, "devnet", "mainnet, testnet or devnet"},
    {"datadir", K_PATH, F(datadir), 0, 0, 0, "", "data directory (default ~/.timecoin/<network>)"},
    {"genesis", K_PATH, F(genesis), 0, 0, 0, "", "genesis document (default <datadir>/genesis.json)"},
    {"operator-key", K_PATH, F(operator_key), 0, 0, 0, "", "masternode operator key file (default <datadir>/operator.key)"},
    {"listen", K_PEER, F(listen), 0, 0, 0, "", "P2P listen address ip:port (default 0.0.0.0:<network P2P port>)"},
    {"external-address", K_PEER, F(external_address), 0, 0, 0, "", "P2P address peers should dial, numeric ip:port (default: listen unless it is a wildcard)"},
    {"rpc-listen", K_ADDR, F(rpc_listen), 0, 0, 0, "", "JSON-RPC address (default 127.0.0.1:<network RPC port>)"},
    {"metrics-listen", K_ADDR, F(metrics_listen), 0, 0, 0, "", "/metrics and /health address (default 127.0.0.1:<network metrics port>)"},
    {"rpc-max-connections", K_UINT, F(rpc_max_connections), 0, 1, 10000, "32", "JSON-RPC clients connected at once; one more is answered 503 and closed"},
    {"metrics-max-connections", K_UINT, F(metrics_max_connections), 0, 1, 10000, "16", "/metrics and /health clients connected at once; one more is answered 503 and closed"},
    {"connect", K_LIST, L(connect), 0, 0, "", "peer to keep a connection to (repeatable)"},
    {"addnode", K_LIST, L(addnode), 0, 0, "", "peer to add to the address book (repeatable)"},
    {"seednode", K_LIST, L(seednode), 0, 0, "", "peer to ask for addresses (repeatable)"},
    {"peer-address", K_ROUTE, L(peer_address), 0, 0, "", "ADDR=DIAL: reach the peer known as ADDR (on chain, gossiped or configured) by dialling DIAL instead (repeatable; proxies, NAT, test networks)"},
    {"log-level", K_LEVEL, F(log_level), 0, 0, 0, "info", "debug, info, warn, error or off"},
    {"log-format", K_FORMAT, F(log_format), 0, 0, 0, "logfmt", "logfmt or json"},
    {"log-file", K_PATH, F(log_file), 0, 0, 0, "", "append the log to this file instead of stderr; SIGHUP reopens it (logrotate)"},
    {"rpcuser", K_TEXT, F(rpcuser), 0, 0, 0, "", "RPC user (default: cookie file in the data dir)"},
    {"rpcpassword", K_TEXT, F(rpcpassword), 0, 0, 0, "", "RPC password (with rpcuser)"},
    {"max-inbound", K_UINT, F(max_inbound), 0, 0, 10000, "64", "inbound peer connections at most"},
    {"max-outbound", K_UINT, F(max_outbound), 0, 0, 1000, "8", "outbound peer connections to aim for"},
    {"inbound-per-minute", K_UINT, F(inbound_per_minute), 0, 1, 100000, "30", "new inbound connections accepted per minute"},
    {"inbound-per-minute-per-group", K_UINT, F(inbound_per_minute_per_group), 0, 0, 100000, "8", "new inbound connections per minute from one /24 (IPv4) or /64 (IPv6); 0: no group limit"},
    {"peer-timeout", K_UINT, F(peer_timeout_s), 0, 10, 86400, "90", "seconds of silence before a peer is dropped"},
    {"ban-time", K_UINT, F(ban_time_s), 0, 1, 31536000, "86400", "seconds a misbehaving peer stays banned"},
    {"fork-query-timeout", K_UINT, F(fork_query_timeout_s), 0, 1, 3600, "5", "seconds the fork query waits for peers' answers at the fork height"},
    {"fork-max-rollback", K_UINT, F(fork_max_rollback), 0, 0, 10000, "100", "blocks a lost fork may be rolled back by itself; deeper waits for the operator"},
    {"request-rate", K_UINT, F(request_rate), 0, 1, 100000, "10", "requests per second a peer may send (getblocks, getpeers, ...)"},
    {"request-burst", K_UINT, F(request_burst), 0, 1, 100000, "20", "burst of requests allowed above the rate"},
    {"mempool-max-txs", K_UINT, F(mempool_max_txs), 0, 1, 10000000, "10000", "pending transactions at most"},
    {"mempool-max-mb", K_UINT, F(mempool_max_mb), 0, 1, 1000000, "300", "megabytes of pending transactions at most"},
    {"mempool-expiry-hours", K_UINT, F(mempool_expiry_h), 0, 1, 100000, "72", "hours a transaction may wait"},
    {"mempool-persist", K_UINT, F(mempool_persist), 0, 0, 1, "1", "1 keeps pending transactions in <datadir>/mempool.journal across crashes and restarts; 0 keeps them in memory only"},
    {"block-interval-ms", K_INT, F(block_interval_ms), 0, -1, 3600000, "-1", "commit wait between blocks; 0 proposes as soon as transactions wait; -1 uses genesis"},
    {"empty-block-interval-ms", K_UINT, F(empty_block_interval_ms), 0, 0, 86400000, "10000", "with block-interval-ms 0: an empty block at most this often"},
    {"propose-timeout-ms", K_INT, F(propose_timeout_ms), 0, -1, 3600000, "-1", "devnet override of the genesis propose timeout (-1: genesis)"},
    {"prevote-timeout-ms", K_INT, F(prevote_timeout_ms), 0, -1, 3600000, "-1", "devnet override of the genesis prevote timeout (-1: genesis)"},
    {"precommit-timeout-ms", K_INT, F(precommit_timeout_ms), 0, -1, 3600000, "-1", "devnet override of the genesis precommit timeout (-1: genesis)"},
    {"heartbeat-interval", K_UINT, F(heartbeat_interval_s), 0, 1, 86400, "60", "seconds between masternode heartbeats"},
    {"resume-signing", K_TEXT, F(resume_signing), 0, 0, 0, "wait", "wait or now: with a sign log behind the chain, sign again once the network has moved on, or at once (docs/operations.md)"},
    {"double-sign-check-height", K_UINT, F(double_sign_check_height), 0, 1, 1000000, "256", "certificates below the tip searched for this validator's own precommits at start and after catching up; found above its sign log, it waits before signing (docs/operations.md)"},
    {"store-map-mb", K_UINT, F(store_map_mb), 0, 64, 1u << 30, "16384", "address space reserved for the store (sparse; grows on disk as used)"},
};

#define N_KEYS (sizeof keys / sizeof keys[0])

size_t tc_config_key_count(void)
{
    return N_KEYS;
}

const char *tc_config_key_name(size_t i)
{
    return i < N_KEYS ? keys[i].name : NULL;
}

void tc_config_print_keys(void *file)
{
    FILE *f = file;
    for (size_t i = 0; i < N_KEYS; i++)
        fprintf(f, "  %-24s %-10s %s\n", keys[i].name, keys[i].def[0] ? keys[i].def : "-", keys[i].help);
}

/* Levenshtein distance, capped: good enough to suggest a key for a typo. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    size_t d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int unknown_key(const char *name, const char *where, tc_errmsg *e)
{
    const char *best = NULL;
    size_t best_d = 4;
    char norm[64];
    snprintf(norm, sizeof norm, "%s", name);
    for (char *p = norm; *p; p++)
        if (*p == '_')
            *p = '-';
    for (size_t i = 0; i < N_KEYS; i++) {
        size_t dd = distance(norm, keys[i].name);
        if (dd < best_d) {
            best_d = dd;
            best = keys[i].name;
        }
    }
    if (best)
        return tc_fail(e, TC_ECONFIG, "%s: unknown key \"%s\" (did you mean \"%s\"?)", where, name, best);
    return tc_fail(e, TC_ECONFIG, "%s: unknown key \"%s\" (the keys are listed in docs/config.md and by timed --help)",
                   where, name);
}

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    if (*s == '\0' || *s == '+' || (*s == '-' && min >= 0) || strchr(s, ' '))
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* host:port with a non-empty host ([v6] allowed) and a port of 1..65535. */
static bool valid_addr(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || strlen(s) >= TC_CONFIG_ADDR || strpbrk(s, " \t\"'") != NULL)
        return false;
    if (s[0] == '[' && colon[-1] != ']')
        return false;
    int64_t port;
    return parse_int(colon + 1, 1, 65535, &port);
}

/* 0.0.0.0:port or [::]:port (any spelling inet_pton accepts): bindable,
 * never dialable. */
static bool is_wildcard(const char *addr)
{
    char host[TC_CONFIG_ADDR];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
        return false;
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    size_t n = strlen(host);
    unsigned char b[16];
    static const unsigned char zero[16];
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host[n - 1] = '\0';
        return inet_pton(AF_INET6, host + 1, b) == 1 && memcmp(b, zero, 16) == 0;
    }
    return inet_pton(AF_INET, host, b) == 1 && memcmp(b, zero, 4) == 0;
}

const char *tc_config_advertise(const tc_config *cfg)
{
    if (cfg->external_address[0])
        return cfg->external_address;
    if (cfg->listen[0] == '\0' || is_wildcard(cfg->listen))
        return NULL;
    return cfg->listen;
}

/* The rules of a text or path value beyond its length. */
static int check_string_value(const key_def *k, const char *value, const char *where, tc_errmsg *e)
{
    if (strlen(value) >= k->size)
        return tc_fail(e, TC_ECONFIG, "%s: %s: longer than %zu characters", where, k->name, k->size - 1);
    if (k->off == offsetof(tc_config, rpcuser) && strchr(value, ':'))
        return tc_fail(e, TC_ECONFIG, "%s: %s: may not contain ':' (HTTP Basic auth splits user:password there)",
                       where, k->name);
    if (k->off == offsetof(tc_config, resume_signing) && strcmp(value, "wait") != 0 && strcmp(value, "now") != 0)
        return tc_fail(e, TC_ECONFIG, "%s: %s: expected wait or now, got \"%s\"", where, k->name, value);
    return 0;
}

/* One peer-address entry, "ADDR=DIAL": both numeric and dialable, and
 * different; stored as given. */
static int set_route(tc_config *cfg, const key_def *k, const char *value, const char *where, tc_errmsg *e)
{
    const char *eq = strchr(value, '=');
    char from[TC_CONFIG_ADDR] = "";
    if (eq && (size_t)(eq - value) < sizeof from)
        snprintf(from, sizeof from, "%.*s", (int)(eq - value), value);
    const char *to = eq ? eq + 1 : "";
    if (!valid_addr(from) || tc_p2p_check_addr(from) != 0 || is_wildcard(from) || !valid_addr(to) ||
        tc_p2p_check_addr(to) != 0 || is_wildcard(to))
        return tc_fail(e, TC_ECONFIG,
                       "%s: %s: expected ADDR=DIAL, two numeric ip:port addresses (e.g. "
                       "10.0.0.5:24100=127.0.0.1:30005), got \"%s\"",
                       where, k->name, value);
    if (strcmp(from, to) == 0)
        return tc_fail(e, TC_ECONFIG, "%s: %s: \"%s\" routes an address to itself", where, k->name, value);
    if (cfg->n_peer_address >= TC_CONFIG_MAX_PEERS)
        return tc_fail(e, TC_ECONFIG, "%s: %s: more than %d entries", where, k->name, TC_CONFIG_MAX_PEERS);
    /* the P2P layer's own table decides what "the same address" is (two
     * spellings of one IPv6 address are one) */
    const char *entries[TC_CONFIG_MAX_PEERS];
    for (size_t i = 0; i < cfg->n_peer_address; i++)
        entries[i] = cfg->peer_address[i];
    entries[cfg->n_peer_address] = value;
    tc_routes check;
    tc_errmsg why;
    if (tc_routes_parse(&check, entries, cfg->n_peer_address + 1, &why) != 0)
        return tc_fail(e, TC_ECONFIG, "%s: %s", where, why.msg);
    snprintf(cfg->peer_address[cfg->n_peer_address++], sizeof cfg->peer_address[0], "%s", value);
    return 0;
}

/* K_PATH, K_TEXT: copied as given once its rules hold. */
static int set_string(char *field, const key_def *k, const char *value, const char *where, tc_errmsg *e)
{
    int rc = check_string_value(k, value, where, e);
    if (rc)
        return rc;
    strcpy(field, value);
    return 0;
}

/* K_ADDR: a bind address, host:port, or empty for the default. */
static int set_addr(char *field, const key_def *k, const char *value, const char *where, tc_errmsg *e)
{
    if (value[0] != '\0' && !valid_addr(value))
        return tc_fail(e, TC_ECONFIG, "%s: %s: expected host:port (e.g. 127.0.0.1:24201), got \"%s\"", where,
                       k->name, value);
    strcpy(field, value);
    return 0;
}

/* K_PEER (one address, empty for the default) and K_LIST (one more entry of
 * a repeatable key): numeric P2P addresses. */
static int set_peer(tc_config *cfg, char *field, const key_def *k, const char *value, const char *where,
                    tc_errmsg *e)
{
    if (k->kind == K_PEER && value[0] == '\0') { /* the default */
        field[0] = '\0';
        return 0;
    }
    /* checked here, not when dialling or binding: a typo must stop the
     * start, not leave a node that quietly never connects */
    if (!valid_addr(value) || tc_p2p_check_addr(value) != 0)
        return tc_fail(e, TC_ECONFIG,
                       "%s: %s: \"%s\" is not a numeric ip:port or [ipv6]:port (port 1-65535; "
                       "host names are not resolved)",
                       where, k->name, value);
    if (k->kind == K_PEER && k->off == offsetof(tc_config, external_address) && is_wildcard(value))
        return tc_fail(e, TC_ECONFIG,
                       "%s: %s: \"%s\" is a wildcard; name the address peers can dial (e.g. 203.0.113.5:24000)",
                       where, k->name, value);
    if (k->kind == K_PEER) {
        strcpy(field, value);
        return 0;
    }
    size_t *count = (size_t *)((char *)cfg + k->count_off);
    if (*count >= TC_CONFIG_MAX_PEERS)
        return tc_fail(e, TC_ECONFIG, "%s: %s: more than %d entries", where, k->name, TC_CONFIG_MAX_PEERS);
    strcpy(field + *count * k->size, value);
    (*count)++;
    return 0;
}

/* K_UINT into a uint64_t, K_INT into an int64_t, within the key's range. */
static int set_number(char *field, const key_def *k, const char *value, const char *where, tc_errmsg *e)
{
    int64_t v;
    if (!parse_int(value, k->min, k->max, &v))
        return tc_fail(e, TC_ECONFIG, "%s: %s: expected a whole number from %lld to %lld, got \"%s\"", where,
                       k->name, (long long)k->min, (long long)k->max, value);
    if (k->kind == K_UINT)
        *(uint64_t *)field = (uint64_t)v;
    else
        *(int64_t *)field = v;
    return 0;
}

/* K_NETWORK: a network by name; remembers whether anyone but the defaults
 * chose it. */
static int set_network(tc_config *cfg, char *field, const key_def *k, const char *value, const char *where,
                       tc_errmsg *e)
{
    const tc_netparams *net = tc_params_by_name(value);
    if (net == NULL)
        return tc_fail(e, TC_ECONFIG, "%s: %s: expected mainnet, testnet or devnet, got \"%s\"", where, k->name,
                       value);
    *(const tc_netparams **)field = net;
    cfg->network_given = strcmp(where, "default") != 0;
    return 0;
}

int tc_config_set(tc_config *cfg, const char *name, const char *value, const char *where, tc_errmsg *e)
{
    const key_def *k = find_key(name);
    if (k == NULL)
        return unknown_key(name, where, e);
    char *field = (char *)cfg + k->off;
    switch (k->kind) {
    case K_PATH:
    case K_TEXT:
        return set_string(field, k, value, where, e);
    case K_ADDR:
        return set_addr(field, k, value, where, e);
    case K_PEER:
    case K_LIST:
        return set_peer(cfg, field, k, value, where, e);
    case K_ROUTE:
        return set_route(cfg, k, value, where, e);
    case K_UINT:
    case K_INT:
        return set_number(field, k, value, where, e);
    case K_LEVEL:
        if (tc_log_parse_level(value, (int *)field))
            return tc_fail(e, TC_ECONFIG, "%s: %s: expected debug, info, warn, error or off, got \"%s\"", where,
                           name, value);
        return 0;
    case K_FORMAT:
        if (tc_log_parse_format(value, (int *)field))
            return tc_fail(e, TC_ECONFIG, "%s: %s: expected logfmt or json, got \"%s\"", where, name, value);
        return 0;
    case K_NETWORK:
        return set_network(cfg, field, k, value, where, e);
    }
    return tc_fail(e, TC_ECONFIG, "%s: %s: unhandled key kind", where, name);
}

void tc_config_defaults(tc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++) {
        if (keys[i].def[0] == '\0')
            continue;
        tc_errmsg e;
        if (tc_config_set(cfg, keys[i].name, keys[i].def, "default", &e) != 0) {
            fprintf(stderr, "fatal: config default: %s\n", e.msg); /* a bug in the table */
            abort();
        }
    }
}

typedef struct {
    tc_config *cfg;
    tc_errmsg *e;
    int err;
    bool seen[N_KEYS]; /* single-value keys this file has set */
} load_ctx;

/* inih does not pass line numbers to handlers; it returns the line of the
 * first handler failure, so the message is completed after the parse. */
static int on_line(void *user, const char *section, const char *name, const char *value)
{
    load_ctx *l = user;
    if (section[0] != '\0' && strcmp(section, "main") != 0) {
        l->err = tc_fail(l->e, TC_ECONFIG, "section [%s] is not known (keys go at the top or under [main])",
                         section);
        return 0;
    }
    const key_def *k = find_key(name);
    if (k && k->kind != K_LIST && k->kind != K_ROUTE) {
        if (l->seen[k - keys]) {
            l->err = tc_fail(l->e, TC_ECONFIG,
                             "%s: given twice (only connect, addnode, seednode and peer-address may repeat; keep one line)", name);
            return 0;
        }
        l->seen[k - keys] = true;
    }
    tc_errmsg inner;
    if ((l->err = tc_config_set(l->cfg, name, value, "", &inner)) != 0) {
        /* drop the empty "where" prefix ": " that tc_config_set put first */
        tc_fail(l->e, l->err, "%s", inner.msg[0] == ':' ? inner.msg + 2 : inner.msg);
        return 0;
    }
    return 1;
}

/* inih reads lines into a buffer of INI_MAX_LINE bytes (newline and NUL
 * included) and silently splits longer ones, and a NUL byte ends a C string:
 * both are refused here, with the line, before inih sees the text. */
#define LINE_MAX_CHARS (INI_MAX_LINE - 2)

static int check_text(const char *path, const char *text, size_t len, tc_errmsg *e)
{
    size_t line = 1, col = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            return tc_fail(e, TC_ECONFIG, "%s:%zu: a NUL byte at column %zu (the file is not text)", path, line,
                           col + 1);
        if (text[i] == '\n') {
            line++;
            col = 0;
        } else if (++col > LINE_MAX_CHARS) {
            return tc_fail(e, TC_ECONFIG, "%s:%zu: longer than %d characters", path, line, LINE_MAX_CHARS);
        }
    }
    return 0;
}

int tc_config_parse(tc_config *cfg, const char *path, const char *text, size_t len, tc_errmsg *e)
{
    int err = check_text(path, text, len, e);
    if (err)
        return err;
    char *copy = tc_xmalloc(len + 1); /* ini_parse_string wants a C string */
    memcpy(copy, text, len);
    copy[len] = '\0';
    tc_errmsg inner = {""};
    load_ctx l = {.cfg = cfg, .e = &inner};
    ini_stop_on_first_error = true;
    ini_allow_multiline = false;
    int line = ini_parse_string(copy, on_line, &l);
    free(copy);
    if (line == 0)
        return 0;
    if (line < 0)
        return tc_fail(e, TC_EIO, "%s: cannot parse config file", path);
    if (l.err == 0) /* inih's own syntax error */
        return tc_fail(e, TC_ECONFIG, "%s:%d: expected \"key = value\", a [section] or a comment", path, line);
    return tc_fail(e, TC_ECONFIG, "%s:%d: %s", path, line, inner.msg);
}

int tc_config_load(tc_config *cfg, const char *path, tc_errmsg *e)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return tc_fail(e, TC_EIO, "%s: cannot read config file: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return tc_fail(e, TC_ECONFIG, "%s: not a regular file (--config expects a file such as <datadir>/time.conf)",
                       path);
    }
    if (st.st_size > TC_CONFIG_MAX_BYTES) {
        fclose(f);
        return tc_fail(e, TC_ECONFIG, "%s: larger than %d bytes: not a config file", path, TC_CONFIG_MAX_BYTES);
    }
    char *text = tc_xmalloc((size_t)st.st_size + 1);
    size_t len = fread(text, 1, (size_t)st.st_size + 1, f); /* one more: a file that grew is seen */
    int bad = ferror(f) || len > (size_t)st.st_size;
    fclose(f);
    int err = bad ? tc_fail(e, TC_EIO, "%s: cannot read config file (read error or changed while read)", path)
                  : tc_config_parse(cfg, path, text, len, e);
    free(text);
    return err;
}

static int finish(tc_config *cfg, tc_errmsg *e)
{
    const tc_netparams *n = cfg->net;
    if (cfg->datadir[0] == '\0') {
        const char *home = getenv("HOME");
        if (home == NULL || home[0] == '\0')
            return tc_fail(e, TC_ECONFIG, "datadir: not set and $HOME is empty; pass --datadir");
        char parent[TC_CONFIG_PATH];
        snprintf(parent, sizeof parent, "%.400s/.timecoin", home);
        if (mkdir(parent, 0700) != 0 && errno != EEXIST) /* the data dir itself is made when opened */
            return tc_fail(e, TC_EIO, "%s: cannot create the default data dir's parent: %s; pass --datadir",
                           parent, strerror(errno));
        snprintf(cfg->datadir, sizeof cfg->datadir, "%.480s/%.16s", parent, n->name);
    }
    if (cfg->genesis[0] == '\0')
        snprintf(cfg->genesis, sizeof cfg->genesis, "%.480s/genesis.json", cfg->datadir);
    cfg->operator_key_given = cfg->operator_key[0] != '\0';
    if (cfg->operator_key[0] == '\0')
        snprintf(cfg->operator_key, sizeof cfg->operator_key, "%.480s/operator.key", cfg->datadir);
    if (cfg->listen[0] == '\0')
        snprintf(cfg->listen, sizeof cfg->listen, "0.0.0.0:%u", n->p2p_port);
    if (cfg->rpc_listen[0] == '\0')
        snprintf(cfg->rpc_listen, sizeof cfg->rpc_listen, "127.0.0.1:%u", n->rpc_port);
    if (cfg->metrics_listen[0] == '\0')
        snprintf(cfg->metrics_listen, sizeof cfg->metrics_listen, "127.0.0.1:%u", n->metrics_port);
    static const struct {
        const char *key;
        size_t off;
    } devnet_only[] = {
        {"block-interval-ms", offsetof(tc_config, block_interval_ms)},
        {"propose-timeout-ms", offsetof(tc_config, propose_timeout_ms)},
        {"prevote-timeout-ms", offsetof(tc_config, prevote_timeout_ms)},
        {"precommit-timeout-ms", offsetof(tc_config, precommit_timeout_ms)},
    };
    for (size_t i = 0; i < sizeof devnet_only / sizeof devnet_only[0]; i++)
        if (*(const int64_t *)((const char *)cfg + devnet_only[i].off) != -1 && strcmp(n->name, "devnet") != 0)
            return tc_fail(e, TC_ECONFIG,
                           "%s: a devnet override; on %s every node takes it from genesis (remove the key)",
                           devnet_only[i].key, n->name);
    if ((cfg->rpcuser[0] == '\0') != (cfg->rpcpassword[0] == '\0'))
        return tc_fail(e, TC_ECONFIG, "rpcuser and rpcpassword: set both or neither (neither: cookie file)");
    return 0;
}

int tc_config_rpc_target(tc_rpc_target *t, const char *datadir, tc_errmsg *e)
{
    char path[1024];
    tc_config cfg;
    memset(t, 0, sizeof *t);
    tc_config_defaults(&cfg);
    snprintf(path, sizeof path, "%s/time.conf", datadir);
    if (access(path, F_OK) == 0) {
        int err = tc_config_load(&cfg, path, e);
        if (err)
            return err;
    }
    char hp[TC_CONFIG_ADDR];
    if (cfg.rpc_listen[0])
        snprintf(hp, sizeof hp, "%s", cfg.rpc_listen);
    else
        snprintf(hp, sizeof hp, "127.0.0.1:%u", cfg.net->rpc_port);
    snprintf(path, sizeof path, "%s/.cookie", datadir);
    return tc_rpcclient_from_cookie(t, hp, path, e);
}

int tc_config_from_args(tc_config *cfg, int argc, char **argv, tc_errmsg *e)
{
    int err;
    cfg->argc = argc;
    cfg->argv = argv;
    /* The config file first, wherever --config stands, so flags override it. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *path = NULL;
        if (strncmp(a, "--config=", 9) == 0)
            path = a + 9;
        else if (strcmp(a, "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(a, "--config") == 0)
            return tc_fail(e, TC_ECONFIG, "--config: expects a file name");
        if (path) {
            snprintf(cfg->config_file, sizeof cfg->config_file, "%s", path);
            if ((err = tc_config_load(cfg, path, e)))
                return err;
        }
    }
    bool flag_seen[N_KEYS] = {false}; /* a flag beats the file, but once */
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *a = argv[i], *value;
        if (strncmp(a, "--", 2) != 0)
            return tc_fail(e, TC_ECONFIG, "%s: unexpected argument (options start with --)", a);
        const char *eq = strchr(a, '=');
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a - 2), a + 2);
            value = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a + 2);
            if (strcmp(name, "config") != 0 && find_key(name) == NULL)
                return unknown_key(name, a, e);
            if (i + 1 >= argc)
                return tc_fail(e, TC_ECONFIG, "%s: expects a value", a);
            value = argv[++i];
        }
        if (strcmp(name, "config") == 0)
            continue;
        const key_def *k = find_key(name);
        if (k && k->kind != K_LIST && k->kind != K_ROUTE) {
            if (flag_seen[k - keys])
                return tc_fail(e, TC_ECONFIG, "--%s: given twice (only connect, addnode, seednode and peer-address may repeat)",
                               name);
            flag_seen[k - keys] = true;
        }
        char where[80];
        snprintf(where, sizeof where, "--%s", name);
        if ((err = tc_config_set(cfg, name, value, where, e)))
            return err;
    }
    return finish(cfg, e);
}
