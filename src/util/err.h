/* One error space for the whole project: 0 is success, negative TC_E* codes
 * are failures. errno and library codes are translated at the edge. */
#ifndef TC_UTIL_ERR_H
#define TC_UTIL_ERR_H

#define TC_MUST_CHECK __attribute__((warn_unused_result))

/* X-macro: name, value, message. Values are stable (they reach logs and RPC). */
#define TC_ERRORS(X)                                                            \
    X(TC_OK, 0, "success")                                                      \
    /* decoding (-1 .. -19) */                                                  \
    X(TC_ETRUNC, -1, "input truncated")                                         \
    X(TC_ETRAILING, -2, "trailing bytes after encoding")                        \
    X(TC_EOVERSIZE, -3, "count or length exceeds limit")                        \
    X(TC_ENONCANON, -4, "non-canonical encoding")                               \
    X(TC_EBADVAL, -5, "invalid field value")                                    \
    X(TC_EHEX, -6, "invalid hex string")                                        \
    X(TC_EBECH32_CHAR, -7, "bech32m: invalid character")                        \
    X(TC_EBECH32_CASE, -8, "bech32m: mixed case")                               \
    X(TC_EBECH32_SUM, -9, "bech32m: checksum mismatch")                         \
    X(TC_EBECH32_LEN, -10, "bech32m: bad length")                               \
    X(TC_EBECH32_HRP, -11, "bech32m: wrong human-readable part")                \
    X(TC_EBECH32_PAD, -12, "bech32m: invalid padding")                          \
    X(TC_EADDR_VERSION, -13, "address: unknown version")                        \
    X(TC_EJSON, -14, "malformed JSON")                                          \
    /* crypto (-20 .. -29) */                                                   \
    X(TC_ESIG, -20, "signature verification failed")                            \
    X(TC_ECRYPTO, -21, "cryptographic library failure")                         \
    /* transaction rules (-30 .. -59) */                                        \
    X(TC_ETX_VERSION, -30, "tx: unsupported version")                           \
    X(TC_ETX_KIND, -31, "tx: unknown or misplaced kind")                        \
    X(TC_ETX_NO_INPUTS, -32, "tx: no inputs")                                   \
    X(TC_ETX_NO_OUTPUTS, -33, "tx: no outputs")                                 \
    X(TC_ETX_DUP_INPUT, -34, "tx: input spent twice")                           \
    X(TC_ETX_DUST, -35, "tx: output below dust limit")                          \
    X(TC_ETX_OVERFLOW, -36, "tx: value overflow")                               \
    X(TC_ETX_SIZE, -37, "tx: too large")                                        \
    X(TC_ETX_MISSING_INPUT, -38, "tx: input spends unknown output")             \
    X(TC_ETX_WRONG_KEY, -39, "tx: input key does not own the output")           \
    X(TC_ETX_INSUFFICIENT, -40, "tx: inputs below outputs")                     \
    X(TC_ETX_FEE, -41, "tx: fee below required")                                \
    X(TC_ETX_LOCKED, -42, "tx: spends locked masternode collateral")            \
    X(TC_ETX_LOCKTIME, -43, "tx: lock time not reached")                        \
    X(TC_ETX_PAYLOAD, -44, "tx: invalid kind payload")                          \
    X(TC_ETX_SIGCOUNT, -45, "tx: wrong number of signatures")                   \
    X(TC_ETX_DOUBLE_SPEND, -46, "tx: conflicts with another spend")             \
    X(TC_EMN_COLLATERAL, -47, "masternode: bad collateral")                     \
    X(TC_EMN_EXISTS, -48, "masternode: already registered")                     \
    X(TC_EMN_UNKNOWN, -49, "masternode: not registered")                        \
    X(TC_EMN_NOT_JAILED, -50, "masternode: not jailed")                         \
    X(TC_EMN_TIER, -51, "masternode: unknown tier")                             \
    X(TC_EEVIDENCE, -52, "evidence: invalid")                                   \
    X(TC_ETX_IMMATURE, -53, "tx: spends immature output")                       \
    /* block rules (-60 .. -79) */                                              \
    X(TC_EBLK_CHAIN, -60, "block: wrong chain id")                              \
    X(TC_EBLK_HEIGHT, -61, "block: wrong height")                               \
    X(TC_EBLK_PREV, -62, "block: wrong previous hash")                          \
    X(TC_EBLK_TIME, -63, "block: bad timestamp")                                \
    X(TC_EBLK_MERKLE, -64, "block: merkle root mismatch")                       \
    X(TC_EBLK_VALSET, -65, "block: validator-set hash mismatch")                \
    X(TC_EBLK_LAST_COMMIT, -66, "block: bad last commit")                       \
    X(TC_EBLK_UTXO, -67, "block: UTXO commitment mismatch")                     \
    X(TC_EBLK_REWARD, -68, "block: bad reward transaction")                     \
    X(TC_EBLK_SIZE, -69, "block: too large")                                    \
    X(TC_EBLK_VERSION, -70, "block: unsupported version")                       \
    X(TC_EBLK_PROPOSER, -71, "block: proposer not a validator")                 \
    X(TC_EBLK_EMPTY, -72, "block: no transactions")                             \
    /* certificates and votes (-80 .. -89) */                                   \
    X(TC_ECERT_QUORUM, -80, "certificate: below quorum weight")                 \
    X(TC_ECERT_SIGNER, -81, "certificate: signer not in validator set")         \
    X(TC_ECERT_ORDER, -82, "certificate: signers not sorted or duplicated")     \
    X(TC_ECERT_TARGET, -83, "certificate: wrong height or block")               \
    /* store and files (-90 .. -109) */                                         \
    X(TC_ESTORE, -90, "store: database error")                                  \
    X(TC_ENOTFOUND, -91, "not found")                                           \
    X(TC_ECORRUPT, -92, "store: corrupt record")                                \
    X(TC_EFOREIGN, -93, "store: data dir belongs to another chain")             \
    X(TC_ESTORE_FULL, -94, "store: map or disk full")                           \
    X(TC_EIO, -95, "I/O error")                                                 \
    X(TC_ELOCKED, -96, "data dir in use by another process")                    \
    X(TC_ETIP, -97, "store: nothing to roll back")                              \
    X(TC_ECONFIG, -98, "configuration error")                                   \
    X(TC_EGENESIS, -99, "genesis: invalid")                                     \
    /* consensus (-120 .. -139): add codes here */                              \
    X(TC_ECONS_DUP, -120, "consensus: duplicate message")                       \
    X(TC_ECONS_CONFLICT, -121, "consensus: conflicting vote (double sign)")     \
    X(TC_ECONS_OLD, -122, "consensus: message for a past height or round")      \
    X(TC_ECONS_FUTURE, -123, "consensus: message buffered for a later height")  \
    X(TC_ECONS_NOT_VALIDATOR, -124, "consensus: signer not in validator set")   \
    X(TC_ECONS_PROPOSER, -125, "consensus: proposal from the wrong proposer")   \
    X(TC_ECONS_DOUBLE_SIGN, -126, "consensus: refusing to sign a conflicting message")\
    X(TC_ECONS_EQUIVOCATION, -127, "consensus: second different proposal for a round")\
    X(TC_ECONS_TORN, -128, "consensus: sign log ends in a torn record")         \
    X(TC_ECONS_HALTED, -129, "consensus: commits halted by a fork (two valid certificates)")\
    /* net (-140 .. -169): add codes here */                                    \
    X(TC_ENET_MAGIC, -140, "net: wrong network magic")                          \
    X(TC_ENET_FRAME_SIZE, -141, "net: frame exceeds maximum size")              \
    X(TC_ENET_MSG_TYPE, -142, "net: unknown message type")                      \
    X(TC_ENET_PROTOCOL, -143, "net: message not allowed in this state")         \
    X(TC_ENET_CHAIN, -144, "net: peer is on another chain")                     \
    X(TC_ENET_VERSION, -145, "net: unsupported protocol version")               \
    X(TC_ENET_KEY, -146, "net: node key differs from TLS certificate")          \
    X(TC_ENET_SELF, -147, "net: connection to self")                            \
    X(TC_ENET_DUPLICATE, -148, "net: already connected to this node")           \
    X(TC_ENET_BANNED, -149, "net: peer is banned")                              \
    X(TC_ENET_TIMEOUT, -150, "net: peer timed out")                             \
    X(TC_ENET_RATE, -151, "net: rate limit exceeded")                           \
    X(TC_ENET_TLS, -152, "net: TLS failure")                                    \
    X(TC_ENET_CLOSED, -153, "net: connection closed")                           \
    X(TC_ENET_ADDR, -154, "net: invalid network address")                       \
    /* general (-110 .. -119) */                                                \
    X(TC_EINVAL, -110, "invalid argument")                                      \
    X(TC_ELIMIT, -111, "limit reached")                                         \
    X(TC_EEXIST, -112, "already exists")                                        \
    X(TC_ESTATE, -113, "operation not valid in this state")                     \
    X(TC_EPASSPHRASE, -114, "wrong passphrase")

enum tc_err {
#define TC_ERR_ENUM(name, value, msg) name = value,
    TC_ERRORS(TC_ERR_ENUM)
#undef TC_ERR_ENUM
};

/* Returns a static, human-readable message for an error code; never NULL.
 * Unknown codes give "unknown error". */
const char *tc_strerror(int err);

/* Returns the symbolic name ("TC_ETRUNC") of a code, or "TC_E?" if unknown. */
const char *tc_errname(int err);

/* Free-text detail for a rejection: "input 0 spends unknown output <txid>:1".
 * Optional everywhere it is taken (NULL means the caller wants the code only). */
typedef struct {
    char msg[256];
} tc_errmsg;

/* Formats into *e (if e is not NULL) and returns err, so a rejection is one
 * line: `return tc_fail(e, TC_ETX_FEE, "fee %llu below %llu", a, b);` */
int tc_fail(tc_errmsg *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
