/* time-cli — TimeCoin operator and wallet tool (DESIGN.md §10).
 *
 *   time-cli devnet init --nodes N --dir DIR [--base-port P]
 *   time-cli wallet create --wallet FILE [--network N] [--unencrypted]
 *   time-cli wallet address --wallet FILE
 *
 * Exit codes: 0 success, 1 usage or configuration error, 2 runtime error. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "chain/amount.h"
#include "chain/params.h"
#include "chain/utxo.h"
#include "rpc/client.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/version.h"
#include "wallet/coins.h"
#include "wallet/devnet.h"
#include "wallet/wallet.h"
#include "node/config.h"
#include "node/datadir.h"

#define PASSPHRASE_ENV "TIMECOIN_WALLET_PASSPHRASE"
#define PASSPHRASE_MAX 1024

static const char usage_text[] =
    "usage: time-cli --version | --help\n"
    "       time-cli devnet init --nodes N --dir DIR [--base-port P]\n"
    "       time-cli wallet create --wallet FILE [--network mainnet|testnet|devnet] [--unencrypted]\n"
    "       time-cli wallet address --wallet FILE\n"
    "       time-cli NODE METHOD [ARGS...]          call a node's JSON-RPC method\n"
    "       time-cli NODE help [METHOD]             the node's methods, or one method's arguments and example\n"
    "       time-cli NODE --wallet FILE wallet address | balance | list\n"
    "       time-cli NODE --wallet FILE wallet send ADDR AMOUNT [--fee F] [--allow-locked] [--dry-run]\n"
    "                (--allow-locked also offers masternode collateral; the network refuses it until the\n"
    "                masternode is deregistered and its unbonding period is over)\n"
    "       time-cli masternode genkey --out FILE           a new operator key (prints its public key)\n"
    "       time-cli NODE --wallet FILE masternode register --tier bronze|silver|gold --collateral TXID:VOUT\n"
    "                --reward ADDR --addr HOST:PORT --operator-key FILE\n"
    "       time-cli NODE --wallet FILE masternode update --collateral TXID:VOUT --addr HOST:PORT --reward ADDR\n"
    "       time-cli NODE --wallet FILE masternode deregister --collateral TXID:VOUT\n"
    "                (the collateral may be spent after the unbonding period)\n"
    "       time-cli NODE --wallet FILE masternode unjail --collateral TXID:VOUT --operator-key FILE\n"
    "                (signed by the operator key; the wallet pays the fee)\n"
    "       time-cli NODE masternode list | status --operator-key FILE\n"
    "NODE is --datadir DIR (its time.conf and RPC cookie), --config FILE (the node's time.conf wherever it is:\n"
    "its rpc-listen, and its rpcuser/rpcpassword or the cookie in its datadir), or\n"
    "--rpc HOST:PORT --rpcuser U --rpcpassword P.\n"
    "AMOUNT and F are decimal TIME with up to 8 places. Arguments that parse as JSON are sent as JSON.\n"
    "The wallet passphrase comes from $" PASSPHRASE_ENV " or is asked on the terminal.\n";

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "time-cli: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", usage_text);
    return 1;
}

/* Usage and configuration problems exit 1, everything else 2. */
static int fail(int err, const tc_errmsg *e)
{
    fprintf(stderr, "time-cli: %s\n", e->msg[0] ? e->msg : tc_strerror(err));
    return err == TC_EINVAL || err == TC_EEXIST || err == TC_ECONFIG ? 1 : 2;
}

/* Matches argv[*i] against --name VALUE or --name=VALUE; advances *i past
 * the value. Returns 1 on a match, 0 if not this option, -1 if the value is
 * missing. */
static int opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno || v > max)
        return false;
    *out = v;
    return true;
}

static int cmd_devnet_init(int argc, char **argv)
{
    tc_devnet_opts o = {0};
    const char *v = NULL;
    unsigned long n;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = opt(argc, argv, &i, "--nodes", &v)) > 0) {
            if (!parse_uint(v, TC_DEVNET_MAX_NODES, &n) || n == 0)
                return usage("--nodes: expected a number from 1 to 64, got \"%s\"", v);
            o.nodes = n;
        } else if (r == 0 && (r = opt(argc, argv, &i, "--dir", &v)) > 0) {
            o.dir = v;
        } else if (r == 0 && (r = opt(argc, argv, &i, "--base-port", &v)) > 0) {
            if (!parse_uint(v, 65535, &n) || n == 0)
                return usage("--base-port: expected a port from 1 to 65535, got \"%s\"", v);
            o.base_port = (unsigned)n;
        } else {
            return usage(r < 0 ? "%s: expects a value" : "devnet init: unknown argument \"%s\"", argv[i]);
        }
    }
    if (o.nodes == 0 || o.dir == NULL)
        return usage("devnet init: --nodes and --dir are required%s", "");
    tc_devnet_result res;
    tc_errmsg e = {{0}};
    int err = tc_devnet_init(&o, &res, &e);
    if (err)
        return fail(err, &e);
    printf("devnet: %zu masternodes in %s (base port %u)\n", o.nodes, res.dir, o.base_port ? o.base_port : 24200u);
    printf("faucet: %s (%llu TIME) in %s/faucet.wallet\n", res.faucet, TC_DEVNET_FAUCET_TIME, res.dir);
    printf("start node i with: timed --config %s/node<i>/time.conf\n", res.dir);
    return 0;
}

/* The terminal state to put back if a signal ends the prompt. */
static int tty_fd = -1;
static struct termios tty_saved;

static void restore_tty_and_die(int sig)
{
    if (tty_fd >= 0)
        (void)tcsetattr(tty_fd, TCSAFLUSH, &tty_saved); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads a line from the terminal with echo off into buf (wiped by the caller). */
static int prompt_tty(const char *prompt, char *buf, size_t cap)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct termios old, quiet;
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        tty_saved = old;
        tty_fd = fd;
        signal(SIGINT, restore_tty_and_die);
        signal(SIGTERM, restore_tty_and_die);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        (void)tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    (void)!write(fd, prompt, strlen(prompt));
    size_t n = 0;
    char ch;
    int ok = -1;
    while (read(fd, &ch, 1) == 1) { /* byte by byte: no stdio copy of the secret */
        if (ch == '\n' || ch == '\r') {
            ok = 0;
            break;
        }
        if (n + 1 < cap)
            buf[n++] = ch;
    }
    buf[n] = '\0';
    if (restore) {
        (void)tcsetattr(fd, TCSAFLUSH, &old);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        tty_fd = -1;
    }
    close(fd);
    return ok;
}

/* The passphrase from the environment or the terminal (asked twice when
 * confirm is set). 0, or 1 (usage) / 2 (runtime) after printing why. */
static int get_passphrase(char *buf, size_t cap, bool confirm)
{
    const char *env = getenv(PASSPHRASE_ENV);
    if (env) {
        if (strlen(env) >= cap) {
            fprintf(stderr, "time-cli: $%s is longer than %zu characters\n", PASSPHRASE_ENV, cap - 1);
            return 1;
        }
        snprintf(buf, cap, "%s", env);
        return 0;
    }
    if (prompt_tty("wallet passphrase: ", buf, cap) != 0) {
        fprintf(stderr, "time-cli: no terminal to ask the wallet passphrase on; set $%s\n", PASSPHRASE_ENV);
        return 1;
    }
    if (confirm) {
        char again[PASSPHRASE_MAX];
        int r = prompt_tty("again: ", again, sizeof again);
        bool same = r == 0 && strcmp(buf, again) == 0;
        sodium_memzero(again, sizeof again);
        if (!same) {
            fprintf(stderr, "time-cli: the passphrases differ\n");
            return 1;
        }
    }
    return 0;
}

static int cmd_wallet(const char *sub, int argc, char **argv)
{
    const char *file = NULL, *network = "devnet", *v = NULL;
    bool unencrypted = false;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = opt(argc, argv, &i, "--wallet", &v)) > 0)
            file = v;
        else if (r == 0 && strcmp(sub, "create") == 0 && (r = opt(argc, argv, &i, "--network", &v)) > 0)
            network = v;
        else if (r == 0 && strcmp(sub, "create") == 0 && strcmp(argv[i], "--unencrypted") == 0)
            unencrypted = true;
        else
            return usage(r < 0 ? "%s: expects a value" : "wallet: unknown argument \"%s\"", argv[i]);
    }
    if (file == NULL)
        return usage("wallet %s: --wallet FILE is required", sub);
    const tc_netparams *net = tc_params_by_name(network);
    if (net == NULL)
        return usage("--network: expected mainnet, testnet or devnet, got \"%s\"", network);
    if (tc_crypto_init() != 0) {
        fprintf(stderr, "time-cli: libsodium failed to initialize\n");
        return 2;
    }
    char pass[PASSPHRASE_MAX];
    tc_wallet *w = NULL;
    tc_errmsg e = {{0}};
    bool encrypted = !unencrypted;
    int err = 0, rc = 0;
    if (strcmp(sub, "create") == 0 && access(file, F_OK) == 0) { /* before asking for a passphrase */
        fprintf(stderr, "time-cli: %s: already exists; refusing to overwrite a wallet\n", file);
        return 1;
    }
    if (strcmp(sub, "address") == 0 && (err = tc_wallet_probe(file, &encrypted, NULL, &e)))
        goto out;
    if (encrypted && (rc = get_passphrase(pass, sizeof pass, strcmp(sub, "create") == 0)))
        goto out;
    if (strcmp(sub, "create") == 0)
        err = tc_wallet_create(&w, file, net, encrypted ? pass : NULL, NULL, &e);
    else if ((err = tc_wallet_open(&w, file, encrypted ? pass : NULL, &e)) == 0)
        err = tc_wallet_new_address(w, NULL, &e);
    if (err == 0) {
        char a[TC_ADDR_STRLEN];
        tc_wallet_address_str(w, tc_wallet_count(w) - 1, a);
        printf("%s\n", a);
    }
out:
    sodium_memzero(pass, sizeof pass);
    tc_wallet_free(w);
    return rc ? rc : err ? fail(err, &e) : 0;
}

/* Opens the wallet named by --wallet, asking for its passphrase if it has one. */
static int open_wallet(const char *file, tc_wallet **w, tc_errmsg *e)
{
    bool encrypted = true;
    char pass[PASSPHRASE_MAX];
    int err = tc_wallet_probe(file, &encrypted, NULL, e);
    if (err)
        return err;
    if (encrypted && get_passphrase(pass, sizeof pass, false) != 0)
        return tc_fail(e, TC_EINVAL, "%s: no passphrase", file);
    err = tc_wallet_open(w, file, encrypted ? pass : NULL, e);
    sodium_memzero(pass, sizeof pass);
    return err;
}

/* Sends a signed transaction and prints its txid; with dry_run (t may then
 * be NULL) prints the signed hex instead, to stdout, and sends nothing. The
 * node refusing it is a runtime error (exit 2), not a usage error: the
 * arguments were fine, the chain or mempool said no. */
static int submit_tx(const tc_rpc_target *t, const tc_tx *tx, bool dry_run, tc_errmsg *e)
{
    tc_buf raw;
    tc_buf_init(&raw);
    tc_tx_encode(tx, &raw);
    char *hex = tc_xmalloc(2 * raw.len + 1);
    tc_hex_encode(hex, raw.p, raw.len);
    tc_buf_release(&raw);
    int err = 0;
    if (dry_run) {
        printf("%s\n", hex);
    } else {
        json_t *txid;
        int code;
        if ((err = tc_rpcclient_call(t, "sendrawtransaction", json_pack("[s]", hex), &txid, &code, e)) == 0) {
            printf("%s\n", json_string_value(txid));
            json_decref(txid);
        } else if (err == TC_EINVAL) { /* an RPC error answer */
            tc_errmsg why = *e;
            err = tc_fail(e, TC_EBADVAL, "the node refused the transaction: %s", why.msg);
        }
    }
    free(hex);
    return err;
}

/* A wallet command's arguments, checked before the node is asked. */
typedef struct {
    const char *sub;
    bool allow_locked;
    bool dry_run;         /* send: print the signed hex, send nothing */
    uint64_t amount, fee; /* send */
} wallet_args;

/* 0, or the usage error's exit code (1) after saying which argument is wrong. */
static int wallet_parse(const char *file, int argc, char **argv, wallet_args *a)
{
    *a = (wallet_args){.sub = argc > 0 ? argv[0] : ""};
    if (file == NULL)
        return usage("wallet %s: --wallet FILE is required", a->sub);
    for (; argc > 1; argc--) { /* trailing flags, in any order */
        if (strcmp(argv[argc - 1], "--allow-locked") == 0)
            a->allow_locked = true;
        else if (strcmp(argv[argc - 1], "--dry-run") == 0 && strcmp(a->sub, "send") == 0)
            a->dry_run = true;
        else
            break;
    }
    if (strcmp(a->sub, "balance") == 0 || strcmp(a->sub, "list") == 0)
        return argc == 1 ? 0 : usage("wallet %s: takes no arguments", a->sub);
    if (strcmp(a->sub, "send") != 0)
        return usage("wallet: unknown command \"%s\" (address, balance, list, send)", a->sub);
    if (argc != 3 && argc != 5)
        return usage("usage: wallet send ADDR AMOUNT [--fee F] [--allow-locked] [--dry-run]%s", "");
    if (tc_amount_parse(argv[2], &a->amount) != 0)
        return usage("send: AMOUNT is decimal TIME with up to 8 places, got \"%s\"", argv[2]);
    if (a->amount == 0)
        return usage("send: AMOUNT must be more than 0, got \"%s\"", argv[2]);
    if (argc == 5 && strcmp(argv[3], "--fee") != 0)
        return usage("send: unexpected \"%s\" (expected --fee F, --allow-locked or --dry-run)", argv[3]);
    if (argc == 5 && tc_amount_parse(argv[4], &a->fee) != 0)
        return usage("send: --fee is decimal TIME with up to 8 places, got \"%s\"", argv[4]);
    return 0;
}

static int wallet_rpc(const tc_rpc_target *t, const char *file, const wallet_args *args, char **argv)
{
    const char *sub = args->sub;
    tc_wallet *w = NULL;
    tc_wallet_coin *coins = NULL;
    size_t n = 0;
    tc_errmsg e = {""};
    tc_tx tx;
    tc_tx_init(&tx);
    int err = 0, rc = 0;
    if ((err = open_wallet(file, &w, &e)) || (err = tc_coins_fetch(t, w, 0, &coins, &n, &e)))
        goto out;
    for (size_t i = 0; args->allow_locked && strcmp(sub, "send") == 0 && i < n; i++)
        coins[i].locked = false; /* the node still refuses a bonded or unbonding collateral */
    if (strcmp(sub, "balance") == 0 || strcmp(sub, "list") == 0) {
        uint64_t total = 0, locked = 0;
        for (size_t i = 0; i < n; i++) {
            char op[80], amt[TC_AMOUNT_STRLEN];
            total += coins[i].locked ? 0 : coins[i].value;
            locked += coins[i].locked ? coins[i].value : 0;
            if (strcmp(sub, "list") == 0)
                printf("%s %s%s\n", tc_outpoint_str(op, &coins[i].outpoint), tc_amount_format(amt, coins[i].value),
                       coins[i].locked ? " locked" : "");
        }
        char a[TC_AMOUNT_STRLEN], b[TC_AMOUNT_STRLEN];
        printf("%s TIME spendable, %s TIME locked as collateral\n", tc_amount_format(a, total),
               tc_amount_format(b, locked));
    } else if (strcmp(sub, "send") == 0) {
        tc_address to;
        uint64_t paid;
        const tc_netparams *net;
        if ((err = tc_wallet_probe(file, NULL, &net, &e)))
            goto out;
        if (tc_address_decode(&to, net->hrp, argv[1]) != 0) {
            rc = usage("send: \"%s\" is not an address of this wallet's network", argv[1]);
            goto out;
        }
        if ((err = tc_wallet_build_transfer(w, coins, n, &to, args->amount, args->fee, &tx, &paid, &e)))
            goto out;
        if ((err = submit_tx(t, &tx, args->dry_run, &e)) == 0) {
            char f[TC_AMOUNT_STRLEN];
            fprintf(stderr, "fee %s TIME%s\n", tc_amount_format(f, paid),
                    args->dry_run ? " (dry run: signed, not sent; sendrawtransaction HEX sends it)" : "");
        }
    }
out:
    tc_tx_release(&tx);
    free(coins);
    tc_wallet_free(w);
    return rc ? rc : err ? fail(err, &e) : 0;
}

static int cmd_genkey(int argc, char **argv)
{
    const char *out = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r = opt(argc, argv, &i, "--out", &v);
        if (r <= 0)
            return usage(r < 0 ? "%s: expects a value" : "masternode genkey: unknown argument \"%s\"", argv[i]);
        out = v;
    }
    if (out == NULL)
        return usage("masternode genkey: --out FILE is required%s", "");
    if (tc_crypto_init() != 0)
        return 2;
    tc_keypair kp;
    tc_errmsg e = {""};
    tc_keypair_generate(&kp);
    int err = tc_keyfile_write(out, &kp, &e);
    if (err == 0) {
        char hex[65];
        printf("%s\n", tc_hex_encode(hex, kp.pk.b, 32));
    }
    tc_keypair_wipe(&kp);
    return err ? fail(err, &e) : 0;
}

/* A registration: a minimum-fee payment to the wallet's own address (so
 * nothing is "sent"), never spending the collateral, turned into the
 * register kind; the payload changes the txid, so the inputs are signed again,
 * then the owner (collateral key) and the operator sign their slots. */
/* A masternode transaction being built: the wallet holding the collateral,
 * its coins (the collateral among them, locked), the owner's key, and a
 * minimum-fee payment to the wallet's own address that carries it. */
typedef struct {
    const tc_netparams *net;
    tc_wallet *w;
    tc_wallet_coin *coins;
    size_t n;
    tc_keypair owner;
    tc_tx tx;
} mn_build;

static void mn_init(mn_build *b)
{
    memset(b, 0, sizeof *b);
    tc_tx_init(&b->tx);
}

/* b was mn_init'ed; mn_end releases it whatever this returned. With
 * need_owner the collateral must be this wallet's (its key signs); without
 * (unjail: the operator signs) the wallet only pays the fee, and the
 * collateral, if it holds it, is still never spent. */
static int mn_begin(mn_build *b, const tc_rpc_target *t, const char *file, const tc_outpoint *col, bool need_owner,
                    tc_errmsg *e)
{
    int err;
    if ((err = open_wallet(file, &b->w, e)) || (err = tc_wallet_probe(file, NULL, &b->net, e)) ||
        (err = tc_coins_fetch(t, b->w, 0, &b->coins, &b->n, e)))
        return err;
    const tc_wallet_coin *collateral = NULL;
    for (size_t i = 0; i < b->n; i++) {
        if (memcmp(&b->coins[i].outpoint.txid, &col->txid, 32) == 0 && b->coins[i].outpoint.vout == col->vout) {
            b->coins[i].locked = true; /* never spent by this transaction */
            collateral = &b->coins[i];
        }
    }
    char text[80];
    if (collateral == NULL && need_owner)
        return tc_fail(e, TC_EMN_COLLATERAL, "%s is not an unspent output of this wallet", tc_outpoint_str(text, col));
    if (need_owner && (err = tc_wallet_keypair(b->w, &collateral->addr, &b->owner)))
        return err;
    uint64_t paid;
    return tc_wallet_build_transfer(b->w, b->coins, b->n, tc_wallet_address(b->w, 0), TC_DUST_LIMIT, TC_MIN_FEE,
                                    &b->tx, &paid, e);
}

/* Signs every input with the wallet's keys (the kind and body are set). */
static int mn_sign_inputs(mn_build *b)
{
    for (size_t i = 0; i < b->tx.n_in; i++) {
        tc_address a;
        tc_keypair kp;
        tc_address_from_pubkey(&a, &b->tx.in[i].pubkey);
        int err = tc_wallet_keypair(b->w, &a, &kp);
        if (err)
            return err;
        tc_tx_sign_input(&b->tx, i, b->net->chain_id, &kp);
        tc_keypair_wipe(&kp);
    }
    return 0;
}

static void mn_end(mn_build *b)
{
    tc_keypair_wipe(&b->owner);
    tc_tx_release(&b->tx);
    free(b->coins);
    tc_wallet_free(b->w);
}

static int mn_register(const tc_rpc_target *t, const char *file, int argc, char **argv)
{
    const char *tier = NULL, *col = NULL, *reward = NULL, *addr = NULL, *opfile = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = opt(argc, argv, &i, "--tier", &v)) > 0)
            tier = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--collateral", &v)) > 0)
            col = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--reward", &v)) > 0)
            reward = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--addr", &v)) > 0)
            addr = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--operator-key", &v)) > 0)
            opfile = v;
        else
            return usage(r < 0 ? "%s: expects a value" : "masternode register: unknown argument \"%s\"", argv[i]);
    }
    if (!tier || !col || !reward || !addr || !opfile || file == NULL)
        return usage("masternode register needs --wallet, --tier, --collateral, --reward, --addr and "
                     "--operator-key%s", "");
    tc_mn_register reg;
    memset(&reg, 0, sizeof reg);
    if (tc_tier_parse(tier, &reg.tier) != 0 || reg.tier == TC_TIER_FREE)
        return usage("--tier: bronze, silver or gold, not \"%s\"", tier);
    if (tc_outpoint_parse(&reg.collateral, col) != 0)
        return usage("--collateral: expected TXID:VOUT, got \"%s\"", col);
    if (strlen(addr) > TC_MAX_NETADDR || strchr(addr, ':') == NULL)
        return usage("--addr: expected host:port, got \"%s\"", addr);
    snprintf(reg.netaddr, sizeof reg.netaddr, "%s", addr);
    mn_build b;
    mn_init(&b);
    tc_keypair op;
    memset(&op, 0, sizeof op);
    tc_errmsg e = {""};
    int err = 0, rc = 0;
    if ((err = tc_keyfile_load(opfile, false, &op, &e)) || (err = mn_begin(&b, t, file, &reg.collateral, true, &e)))
        goto out;
    if (tc_address_decode(&reg.reward, b.net->hrp, reward) != 0) {
        rc = usage("--reward: \"%s\" is not an address of this network", reward);
        goto out;
    }
    reg.owner = b.owner.pk;
    reg.operator_key = op.pk;
    b.tx.kind = TC_TX_MN_REGISTER;
    b.tx.u.reg = reg;
    if ((err = mn_sign_inputs(&b)))
        goto out;
    tc_tx_sign_extra(&b.tx, 0, b.net->chain_id, &b.owner);
    tc_tx_sign_extra(&b.tx, 1, b.net->chain_id, &op);
    err = submit_tx(t, &b.tx, false, &e);
out:
    tc_keypair_wipe(&op);
    mn_end(&b);
    return rc ? rc : err ? fail(err, &e) : 0;
}

/* Signs b's inputs and its one extra signature with the owner key, and
 * sends it (update and deregister, both the owner's). */
static int mn_owner_submit(mn_build *b, const tc_rpc_target *t, tc_errmsg *e)
{
    int err = mn_sign_inputs(b);
    if (err)
        return err;
    tc_tx_sign_extra(&b->tx, 0, b->net->chain_id, &b->owner);
    return submit_tx(t, &b->tx, false, e);
}

/* masternode update --collateral TXID:VOUT --addr HOST:PORT --reward ADDR:
 * the owner replaces the network and reward addresses (both, as the
 * transaction carries both). */
static int mn_update(const tc_rpc_target *t, const char *file, int argc, char **argv)
{
    const char *col = NULL, *reward = NULL, *addr = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = opt(argc, argv, &i, "--collateral", &v)) > 0)
            col = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--reward", &v)) > 0)
            reward = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--addr", &v)) > 0)
            addr = v;
        else
            return usage(r < 0 ? "%s: expects a value" : "masternode update: unknown argument \"%s\"", argv[i]);
    }
    if (!col || !reward || !addr || file == NULL)
        return usage("masternode update needs --wallet, --collateral, --addr and --reward%s", "");
    tc_mn_update up;
    memset(&up, 0, sizeof up);
    if (tc_outpoint_parse(&up.collateral, col) != 0)
        return usage("--collateral: expected TXID:VOUT, got \"%s\"", col);
    if (strlen(addr) > TC_MAX_NETADDR || strchr(addr, ':') == NULL)
        return usage("--addr: expected host:port, got \"%s\"", addr);
    snprintf(up.netaddr, sizeof up.netaddr, "%s", addr);
    mn_build b;
    mn_init(&b);
    tc_errmsg e = {""};
    int err = 0, rc = 0;
    if ((err = mn_begin(&b, t, file, &up.collateral, true, &e)))
        goto out;
    if (tc_address_decode(&up.reward, b.net->hrp, reward) != 0) {
        rc = usage("--reward: \"%s\" is not an address of this network", reward);
        goto out;
    }
    up.owner = b.owner.pk;
    b.tx.kind = TC_TX_MN_UPDATE;
    b.tx.u.update = up;
    err = mn_owner_submit(&b, t, &e);
out:
    mn_end(&b);
    return rc ? rc : err ? fail(err, &e) : 0;
}

/* masternode deregister --collateral TXID:VOUT: the owner takes the
 * masternode out of the validator set; its collateral unlocks after the
 * network's unbonding period (docs/chain.md). */
static int mn_deregister(const tc_rpc_target *t, const char *file, int argc, char **argv)
{
    const char *col = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = opt(argc, argv, &i, "--collateral", &v)) > 0)
            col = v;
        else
            return usage(r < 0 ? "%s: expects a value" : "masternode deregister: unknown argument \"%s\"", argv[i]);
    }
    if (!col || file == NULL)
        return usage("masternode deregister needs --wallet and --collateral%s", "");
    tc_mn_ref ref;
    memset(&ref, 0, sizeof ref);
    if (tc_outpoint_parse(&ref.collateral, col) != 0)
        return usage("--collateral: expected TXID:VOUT, got \"%s\"", col);
    mn_build b;
    mn_init(&b);
    tc_errmsg e = {""};
    int err = 0;
    if ((err = mn_begin(&b, t, file, &ref.collateral, true, &e)))
        goto out;
    ref.owner = b.owner.pk;
    b.tx.kind = TC_TX_MN_DEREGISTER;
    b.tx.u.dereg = ref;
    err = mn_owner_submit(&b, t, &e);
out:
    mn_end(&b);
    return err ? fail(err, &e) : 0;
}

/* masternode unjail --collateral TXID:VOUT --operator-key FILE: the
 * operator (not the owner) signs; the wallet pays the minimum fee. */
static int mn_unjail(const tc_rpc_target *t, const char *file, int argc, char **argv)
{
    const char *col = NULL, *opfile = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r;
        if ((r = opt(argc, argv, &i, "--collateral", &v)) > 0)
            col = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--operator-key", &v)) > 0)
            opfile = v;
        else
            return usage(r < 0 ? "%s: expects a value" : "masternode unjail: unknown argument \"%s\"", argv[i]);
    }
    if (!col || !opfile || file == NULL)
        return usage("masternode unjail needs --wallet (pays the fee), --collateral and --operator-key%s", "");
    tc_mn_ref ref;
    memset(&ref, 0, sizeof ref);
    if (tc_outpoint_parse(&ref.collateral, col) != 0)
        return usage("--collateral: expected TXID:VOUT, got \"%s\"", col);
    mn_build b;
    mn_init(&b);
    tc_keypair op;
    memset(&op, 0, sizeof op);
    tc_errmsg e = {""};
    int err;
    if ((err = tc_keyfile_load(opfile, false, &op, &e)) || (err = mn_begin(&b, t, file, &ref.collateral, false, &e)))
        goto out;
    ref.owner = op.pk; /* for unjail the payload names the operator key */
    b.tx.kind = TC_TX_MN_UNJAIL;
    b.tx.u.unjail = ref;
    if ((err = mn_sign_inputs(&b)))
        goto out;
    tc_tx_sign_extra(&b.tx, 0, b.net->chain_id, &op);
    err = submit_tx(t, &b.tx, false, &e);
out:
    tc_keypair_wipe(&op);
    mn_end(&b);
    return err ? fail(err, &e) : 0;
}

/* masternode list | status --operator-key FILE */
static int mn_query(const tc_rpc_target *t, const char *sub, int argc, char **argv)
{
    const char *opfile = NULL, *v;
    for (int i = 0; i < argc; i++) {
        int r = opt(argc, argv, &i, "--operator-key", &v);
        if (r <= 0)
            return usage(r < 0 ? "%s: expects a value" : "masternode: unknown argument \"%s\"", argv[i]);
        opfile = v;
    }
    json_t *list;
    int code;
    tc_errmsg e = {""};
    int err = tc_rpcclient_call(t, "listmasternodes", json_array(), &list, &code, &e);
    if (err)
        return fail(err, &e);
    json_t *show = list;
    if (strcmp(sub, "status") == 0) {
        tc_keypair op;
        char hex[65];
        if (opfile == NULL) {
            json_decref(list);
            return usage("masternode status: --operator-key FILE is required%s", "");
        }
        if ((err = tc_keyfile_load(opfile, false, &op, &e))) {
            json_decref(list);
            return fail(err, &e);
        }
        tc_hex_encode(hex, op.pk.b, 32);
        tc_keypair_wipe(&op);
        show = NULL;
        size_t i;
        json_t *m;
        json_array_foreach(list, i, m)
        {
            const char *k = json_string_value(json_object_get(m, "operator"));
            if (k && strcmp(k, hex) == 0)
                show = m;
        }
        if (show == NULL) {
            json_decref(list);
            fprintf(stderr, "time-cli: operator %s is not a registered masternode\n", hex);
            return 2;
        }
    }
    char *text = json_dumps(show, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
    json_decref(list);
    return 0;
}

/* METHOD ARGS: each argument that parses as JSON is sent as JSON, else as a string. */
static int call_method(const tc_rpc_target *t, int argc, char **argv)
{
    json_t *params = json_array(), *result;
    for (int i = 1; i < argc; i++) {
        json_t *v = json_loads(argv[i], JSON_DECODE_ANY, NULL);
        json_array_append_new(params, v ? v : json_string(argv[i]));
    }
    int code;
    tc_errmsg e = {""};
    int err = tc_rpcclient_call(t, argv[0], params, &result, &code, &e);
    if (err == TC_EINVAL) {
        fprintf(stderr, "time-cli: %s: %s (code %d)\n", argv[0], e.msg, code);
        return 2;
    }
    if (err)
        return fail(err, &e);
    if (json_is_string(result)) { /* help text, hashes, hex: plain, as bitcoin-cli prints them */
        printf("%s\n", json_string_value(result));
    } else {
        char *text = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);
        printf("%s\n", text);
        free(text);
    }
    json_decref(result);
    return 0;
}

/* --config FILE: the node's own time.conf, wherever it lives (a service
 * keeps it in /etc/timecoin, away from the data dir --datadir reads): its
 * rpc-listen, and its rpcuser/rpcpassword or else the cookie in its datadir
 * (--datadir, when given too, names where the cookie is). */
static int config_target(tc_rpc_target *t, const char *conf, const char *datadir, tc_errmsg *e)
{
    tc_config *cfg = tc_xmalloc(sizeof *cfg);
    tc_config_defaults(cfg);
    char *args[] = {"time-cli", "--config", (char *)conf, NULL};
    int err = tc_config_from_args(cfg, 3, args, e);
    if (err == 0 && cfg->rpcuser[0]) {
        err = tc_rpcclient_from_addr(t, cfg->rpc_listen, cfg->rpcuser, cfg->rpcpassword, e);
    } else if (err == 0) {
        char cookie[TC_CONFIG_PATH + 16];
        snprintf(cookie, sizeof cookie, "%s/.cookie", datadir ? datadir : cfg->datadir);
        err = tc_rpcclient_from_cookie(t, cfg->rpc_listen, cookie, e);
    }
    sodium_memzero(cfg, sizeof *cfg);
    free(cfg);
    return err;
}

/* time-cli NODE-OPTIONS [--wallet FILE] (METHOD ARGS | wallet ...) */
static int cmd_rpc(int argc, char **argv)
{
    const char *datadir = NULL, *conf = NULL, *rpc = NULL, *user = NULL, *pass = NULL, *wallet = NULL, *v;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        int r;
        if ((r = opt(argc, argv, &i, "--datadir", &v)) > 0)
            datadir = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--config", &v)) > 0)
            conf = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--rpcuser", &v)) > 0)
            user = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--rpcpassword", &v)) > 0)
            pass = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--rpc", &v)) > 0)
            rpc = v;
        else if (r == 0 && (r = opt(argc, argv, &i, "--wallet", &v)) > 0)
            wallet = v;
        else
            return usage(r < 0 ? "%s: expects a value" : "unknown option \"%s\"", argv[i]);
    }
    if (i >= argc)
        return usage("no method given%s", "");
    if (tc_crypto_init() != 0)
        return 2;
    wallet_args wa;
    bool is_wallet = strcmp(argv[i], "wallet") == 0;
    if (is_wallet && i + 1 < argc && strcmp(argv[i + 1], "address") == 0) { /* needs no node */
        if (i + 2 != argc)
            return usage("wallet address: takes no arguments (got \"%s\")", argv[i + 2]);
        if (wallet == NULL)
            return usage("wallet address: --wallet FILE is required%s", "");
        return cmd_wallet("address", 2, (char *[]){"--wallet", (char *)wallet});
    }
    int rc = is_wallet ? wallet_parse(wallet, argc - i - 1, argv + i + 1, &wa) : 0;
    if (rc)
        return rc; /* a usage error is told before the node is looked for */
    tc_rpc_target t;
    tc_errmsg e = {""};
    int err = conf      ? config_target(&t, conf, datadir, &e)
              : datadir ? tc_config_rpc_target(&t, datadir, &e)
                        : tc_rpcclient_from_addr(&t, rpc, user, pass, &e);
    if (err)
        return fail(err, &e);
    if (is_wallet)
        rc = wallet_rpc(&t, wallet, &wa, argv + i + 1);
    else if (strcmp(argv[i], "masternode") == 0 && i + 1 < argc && strcmp(argv[i + 1], "register") == 0)
        rc = mn_register(&t, wallet, argc - i - 2, argv + i + 2);
    else if (strcmp(argv[i], "masternode") == 0 && i + 1 < argc && strcmp(argv[i + 1], "update") == 0)
        rc = mn_update(&t, wallet, argc - i - 2, argv + i + 2);
    else if (strcmp(argv[i], "masternode") == 0 && i + 1 < argc && strcmp(argv[i + 1], "deregister") == 0)
        rc = mn_deregister(&t, wallet, argc - i - 2, argv + i + 2);
    else if (strcmp(argv[i], "masternode") == 0 && i + 1 < argc && strcmp(argv[i + 1], "unjail") == 0)
        rc = mn_unjail(&t, wallet, argc - i - 2, argv + i + 2);
    else if (strcmp(argv[i], "masternode") == 0 && i + 1 < argc &&
             (strcmp(argv[i + 1], "list") == 0 || strcmp(argv[i + 1], "status") == 0))
        rc = mn_query(&t, argv[i + 1], argc - i - 2, argv + i + 2);
    else
        rc = call_method(&t, argc - i, argv + i);
    tc_rpcclient_wipe(&t);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    const char *sub = argc > 2 ? argv[2] : "";
    if (strcmp(cmd, "--version") == 0) {
        printf("time-cli %s\n", TC_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        printf("%s", usage_text);
        return 0;
    }
    if (strcmp(cmd, "devnet") == 0 && strcmp(sub, "init") == 0)
        return cmd_devnet_init(argc - 3, argv + 3);
    if (strcmp(cmd, "wallet") == 0 && (strcmp(sub, "create") == 0 || strcmp(sub, "address") == 0))
        return cmd_wallet(sub, argc - 3, argv + 3);
    if (strcmp(cmd, "masternode") == 0 && strcmp(sub, "genkey") == 0)
        return cmd_genkey(argc - 3, argv + 3);
    if (strncmp(cmd, "--datadir", 9) == 0 || strncmp(cmd, "--config", 8) == 0 || strncmp(cmd, "--rpc", 5) == 0)
        return cmd_rpc(argc, argv);
    return usage(cmd[0] ? "unknown command \"%s\"" : "no command given%s", cmd);
}
