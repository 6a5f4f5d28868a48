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

#include "chain/params.h"
#include "util/version.h"
#include "wallet/devnet.h"
#include "wallet/wallet.h"

#define PASSPHRASE_ENV "TIMECOIN_WALLET_PASSPHRASE"
#define PASSPHRASE_MAX 1024

static const char usage_text[] =
    "usage: time-cli --version | --help\n"
    "       time-cli devnet init --nodes N --dir DIR [--base-port P]\n"
    "       time-cli wallet create --wallet FILE [--network mainnet|testnet|devnet] [--unencrypted]\n"
    "       time-cli wallet address --wallet FILE\n"
    "The wallet passphrase comes from $" PASSPHRASE_ENV " or is asked on the terminal.\n"
    "RPC commands (balance, send, node methods) come with the RPC interface.\n";

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
    if (strcmp(cmd, "wallet") == 0 && (strcmp(sub, "balance") == 0 || strcmp(sub, "send") == 0 ||
                                       strcmp(sub, "list") == 0)) {
        fprintf(stderr, "time-cli: wallet %s needs the node's RPC interface, which this build does not have yet\n",
                sub);
        return 2;
    }
    return usage(cmd[0] ? "unknown command \"%s\"" : "no command given%s", cmd);
}
