"""A hostile peer that speaks TimeCoin's real P2P protocol (docs/protocol.md,
docs/chain.md), for functional tests of what a node does under attack.

Layers, bottom up:

* crypto   - `Key` (Ed25519 via python3-cryptography), `h(domain, data)`
             (BLAKE3 derive-key with "TimeCoin v1 <domain>", blake3.py).
* codec    - `Reader`/`Writer` (little-endian, minimal compact sizes),
             chain objects (`Vote`, `Proposal`, `Header`, `Block`, `Cert`,
             transactions kept as raw bytes) and one encoder/decoder per
             message type (`encode_payload`, `decode_payload`), frames
             (`frame`, `FrameParser`).
* link     - `Peer`: TCP + TLS 1.3 (pyOpenSSL, for the exporter) with a
             self-signed certificate for its node key, the version/verack
             handshake bound to the session's exporter, a reader thread that
             answers pings and queues every decoded message.
* behaviours - helpers the tests compose: `fetch_blocks`, `junk_block`,
             `make_proposal`, `make_vote`, `peers_flood_payload`,
             `proposer_of`, `Validator` (the keys of a devnet validator).

Nothing here talks to anything but 127.0.0.1. See test/functional/README.md
("Adversary API") for examples.
"""

import os
import queue
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID
from OpenSSL import SSL, crypto

from blake3 import derive_key

LOOPBACK = "127.0.0.1"
DEVNET_MAGIC = bytes.fromhex("DE7E7E4D")
DEVNET_CHAIN_ID = 3
PROTOCOL_VERSION = 1
EXPORTER_LABEL = b"EXPORTER-timecoin-version"

FRAME_HEADER = 10            # magic[4] | u16 type | u32 length
MAX_FRAME = 8 * 1024 * 1024
MAX_PEERS = 1000
MAX_INV = 1024
MAX_BLOCKS = 128
MAX_NETADDR = 64
MAX_TEXT = 256
HEADER_SIZE = 216
VOTE_SIZE = 141
PROPOSAL_SIZE = 144
PREVOTE, PRECOMMIT = 1, 2
INV_TX, INV_BLOCK = 1, 2
ZERO32 = bytes(32)


class T:
    """Message types (docs/protocol.md §3)."""
    VERSION, VERACK, PING, PONG, GETPEERS, PEERS, GETMASTERNODES, MASTERNODES = range(1, 9)
    HEARTBEAT, INV, GETDATA, TX, PROPOSAL, VOTE, BLOCK, GETBLOCKS = range(9, 17)
    BLOCKS, GETHASH, HASH, EVIDENCE, REJECT, MNAUTH = range(17, 23)
    NAMES = {1: "version", 2: "verack", 3: "ping", 4: "pong", 5: "getpeers", 6: "peers",
             7: "getmasternodes", 8: "masternodes", 9: "heartbeat", 10: "inv", 11: "getdata",
             12: "tx", 13: "proposal", 14: "vote", 15: "block", 16: "getblocks", 17: "blocks",
             18: "gethash", 19: "hash", 20: "evidence", 21: "reject", 22: "mnauth"}


class DecodeError(ValueError):
    """Input that a TimeCoin decoder rejects (truncated, trailing, oversize,
    non-canonical, invalid field)."""


# ============================================================== crypto ======

def h(domain, data):
    """BLAKE3 derive-key hash with context "TimeCoin v1 <domain>"
    (docs/chain.md, Hashing): domain is e.g. "vote", "block header"."""
    return derive_key("TimeCoin v1 " + domain, data)


class Key:
    """An Ed25519 key pair from a 32-byte seed (the node's key files hold the
    seed as 64 hex digits and a newline: src/node/datadir.c)."""

    def __init__(self, seed):
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self.seed = bytes(seed)
        self.private = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.pub = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                          serialization.PublicFormat.Raw)

    @classmethod
    def generate(cls):
        return cls(os.urandom(32))

    @classmethod
    def load(cls, path):
        """Reads a key file (node.key, operator.key, owner.key)."""
        text = Path(path).read_text().strip()
        if len(text) != 64:
            raise ValueError(f"{path}: expected 64 hex digits")
        return cls(bytes.fromhex(text))

    def sign(self, msg):
        return self.private.sign(msg)

    def __repr__(self):
        return f"Key({self.pub[:8].hex()}…)"


def verify(pub, sig, msg):
    """Strict-enough Ed25519 verification; True or False."""
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


# =============================================================== codec ======

class Writer:
    """Canonical little-endian encoder (compact sizes always minimal)."""

    def __init__(self):
        self.b = bytearray()

    def u8(self, v):
        self.b += struct.pack("<B", v)
        return self

    def u16(self, v):
        self.b += struct.pack("<H", v)
        return self

    def u32(self, v):
        self.b += struct.pack("<I", v & 0xFFFFFFFF)
        return self

    def u64(self, v):
        self.b += struct.pack("<Q", v)
        return self

    def raw(self, data):
        self.b += data
        return self

    def cs(self, n):
        if n < 0xFD:
            self.b += bytes([n])
        elif n <= 0xFFFF:
            self.b += b"\xfd" + struct.pack("<H", n)
        elif n <= 0xFFFFFFFF:
            self.b += b"\xfe" + struct.pack("<I", n)
        else:
            self.b += b"\xff" + struct.pack("<Q", n)
        return self

    def var(self, data):
        return self.cs(len(data)).raw(data)

    def bytes(self):
        return bytes(self.b)


class Reader:
    """Bounded decoder over bytes: every read checks what is left; done()
    rejects trailing bytes."""

    def __init__(self, data):
        self.d = memoryview(bytes(data))
        self.pos = 0

    def left(self):
        return len(self.d) - self.pos

    def raw(self, n):
        if n > self.left():
            raise DecodeError(f"truncated: need {n} bytes at {self.pos}, have {self.left()}")
        out = bytes(self.d[self.pos:self.pos + n])
        self.pos += n
        return out

    def u8(self):
        return self.raw(1)[0]

    def u16(self):
        return struct.unpack("<H", self.raw(2))[0]

    def u32(self):
        return struct.unpack("<I", self.raw(4))[0]

    def i32(self):
        return struct.unpack("<i", self.raw(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.raw(8))[0]

    def cs(self):
        first = self.u8()
        if first < 0xFD:
            return first
        n, least = {0xFD: (self.u16, 0xFD), 0xFE: (self.u32, 0x10000), 0xFF: (self.u64, 0x100000000)}[first]
        v = n()
        if v < least:
            raise DecodeError("non-minimal compact size")
        return v

    def count(self, limit, min_item=1):
        """A count bounded by `limit` and by the bytes left (before anything
        is allocated for it)."""
        n = self.cs()
        if n > limit or n * min_item > self.left():
            raise DecodeError(f"count {n} over its bound")
        return n

    def var(self, limit):
        n = self.cs()
        if n > limit:
            raise DecodeError(f"length {n} over {limit}")
        return self.raw(n)

    def done(self):
        if self.left():
            raise DecodeError(f"{self.left()} trailing bytes")


def _netaddr(r, allow_empty):
    s = r.var(MAX_NETADDR)
    if not s and not allow_empty:
        raise DecodeError("empty netaddr")
    if any(c < 0x21 or c > 0x7E for c in s):
        raise DecodeError("netaddr not printable")
    return s.decode()


def _text(r, limit):
    s = r.var(limit)
    if any(c < 0x20 or c > 0x7E for c in s):
        raise DecodeError("text not printable")
    return s.decode()


# ---- chain objects (docs/chain.md, Encodings) --------------------------------

@dataclass
class Vote:
    """u8 type | u64 height | u32 round | block hash | validator | sig (141)."""
    type: int
    height: int
    round: int
    block: bytes
    validator: bytes = ZERO32
    sig: bytes = bytes(64)

    def body(self):
        return Writer().u8(self.type).u64(self.height).u32(self.round).raw(self.block).raw(self.validator).bytes()

    def encode(self):
        return self.body() + self.sig

    @classmethod
    def read(cls, r):
        v = cls(r.u8(), r.u64(), r.u32(), r.raw(32), r.raw(32), r.raw(64))
        if v.type not in (PREVOTE, PRECOMMIT):
            raise DecodeError(f"vote type {v.type}")
        return v

    @classmethod
    def decode(cls, data):
        r = Reader(data)
        v = cls.read(r)
        r.done()
        return v

    def sign_bytes(self, chain_id=DEVNET_CHAIN_ID):
        return h("vote", struct.pack("<I", chain_id) + self.body())

    def signed(self, key, chain_id=DEVNET_CHAIN_ID):
        v = replace(self, validator=key.pub)
        v.sig = key.sign(v.sign_bytes(chain_id))
        return v

    def verify(self, chain_id=DEVNET_CHAIN_ID):
        return verify(self.validator, self.sig, self.sign_bytes(chain_id))


@dataclass
class Proposal:
    """u64 height | u32 round | i32 pol_round | block hash | proposer | sig (144).
    Signed like a vote under "TimeCoin v1 proposal" over le32 chain id | body."""
    height: int
    round: int
    pol_round: int
    block: bytes
    proposer: bytes = ZERO32
    sig: bytes = bytes(64)

    def body(self):
        return (Writer().u64(self.height).u32(self.round).u32(self.pol_round & 0xFFFFFFFF)
                .raw(self.block).raw(self.proposer).bytes())

    def encode(self):
        return self.body() + self.sig

    @classmethod
    def decode(cls, data):
        r = Reader(data)
        p = cls(r.u64(), r.u32(), r.i32(), r.raw(32), r.raw(32), r.raw(64))
        r.done()
        if p.pol_round < -1 or p.pol_round >= p.round:
            raise DecodeError(f"pol_round {p.pol_round} for round {p.round}")
        return p

    def sign_bytes(self, chain_id=DEVNET_CHAIN_ID):
        return h("proposal", struct.pack("<I", chain_id) + self.body())

    def signed(self, key, chain_id=DEVNET_CHAIN_ID):
        p = replace(self, proposer=key.pub)
        p.sig = key.sign(p.sign_bytes(chain_id))
        return p

    def verify(self, chain_id=DEVNET_CHAIN_ID):
        return verify(self.proposer, self.sig, self.sign_bytes(chain_id))


@dataclass
class Cert:
    """u64 height | u32 round | block hash | cs n | n x (key32, sig64), keys
    strictly ascending."""
    height: int
    round: int
    block: bytes
    sigs: list = field(default_factory=list)  # [(key, sig)]

    def encode(self):
        w = Writer().u64(self.height).u32(self.round).raw(self.block).cs(len(self.sigs))
        for k, s in self.sigs:
            w.raw(k).raw(s)
        return w.bytes()

    @classmethod
    def read(cls, r):
        c = cls(r.u64(), r.u32(), r.raw(32))
        n = r.count(1000, 96)
        for i in range(n):
            k, s = r.raw(32), r.raw(64)
            if i and c.sigs[-1][0] >= k:
                raise DecodeError("certificate signers out of order")
            c.sigs.append((k, s))
        return c

    @classmethod
    def decode(cls, data):
        r = Reader(data)
        c = cls.read(r)
        r.done()
        return c

    def votes(self):
        """The precommits the certificate carries."""
        return [Vote(PRECOMMIT, self.height, self.round, self.block, k, s) for k, s in self.sigs]

    def hash(self):
        return h("commit certificate", self.encode())


@dataclass
class Header:
    """The 216-byte block header; its hash is the block id."""
    version: int
    chain_id: int
    height: int
    prev: bytes
    time_ms: int
    proposer: bytes
    tx_root: bytes
    valset_hash: bytes
    last_commit_hash: bytes
    utxo_commitment: bytes

    def encode(self):
        return (Writer().u32(self.version).u32(self.chain_id).u64(self.height).raw(self.prev).u64(self.time_ms)
                .raw(self.proposer).raw(self.tx_root).raw(self.valset_hash).raw(self.last_commit_hash)
                .raw(self.utxo_commitment).bytes())

    @classmethod
    def read(cls, r):
        return cls(r.u32(), r.u32(), r.u64(), r.raw(32), r.u64(), r.raw(32), r.raw(32), r.raw(32), r.raw(32),
                   r.raw(32))

    def hash(self):
        return h("block header", self.encode())


# Extra signatures per transaction kind (docs/chain.md): register 2, update,
# deregister and unjail 1.
_TX_XSIGS = {0: 0, 1: 0, 2: 2, 3: 1, 4: 1, 5: 0, 6: 1}


def read_tx(r):
    """Reads one transaction (structure only) and returns its raw bytes."""
    start = r.pos
    version, kind = r.u32(), r.u8()
    if kind not in _TX_XSIGS:
        raise DecodeError(f"tx kind {kind}")
    n_in = r.count(100000, 68)
    r.raw(n_in * 68)
    n_out = r.count(100000, 41)
    r.raw(n_out * 41)
    r.u32()  # lock time
    if kind == 1:
        r.u64()
    elif kind == 2:
        r.raw(1 + 36 + 32 + 32 + 33)
        _netaddr(r, False)
    elif kind == 3:
        r.raw(36 + 32 + 33)
        _netaddr(r, False)
    elif kind in (4, 6):
        r.raw(36 + 32)
    elif kind == 5:
        Vote.read(r)
        Vote.read(r)
    r.raw(64 * (n_in + _TX_XSIGS[kind]))
    del version
    return bytes(r.d[start:r.pos])


def txid(raw_tx):
    """H_txid of the transaction without its signatures."""
    r = Reader(raw_tx)
    read_tx(r)
    # signatures are the trailing 64-byte blocks: recount them
    r2 = Reader(raw_tx)
    r2.u32()
    kind = r2.u8()
    n_in = r2.cs()
    n_sigs = n_in + _TX_XSIGS[kind]
    return h("txid", raw_tx[:len(raw_tx) - 64 * n_sigs])


def merkle_root(leaves):
    """Interior node H(left | right), odd last node carried up, no leaves: zero."""
    if not leaves:
        return ZERO32
    level = list(leaves)
    while len(level) > 1:
        nxt = [h("merkle node", level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


@dataclass
class Block:
    """header | cs n_tx | transactions | the previous block's certificate."""
    header: Header
    txs: list           # raw transaction encodings
    last_commit: Cert

    def encode(self):
        w = Writer().raw(self.header.encode()).cs(len(self.txs))
        for tx in self.txs:
            w.raw(tx)
        return w.raw(self.last_commit.encode()).bytes()

    @classmethod
    def decode(cls, data):
        if len(data) > 2_000_000:
            raise DecodeError("block over 2 MB")
        r = Reader(data)
        hdr = Header.read(r)
        n = r.count(2_000_000 // 11, 11)
        txs = [read_tx(r) for _ in range(n)]
        cert = Cert.read(r)
        r.done()
        return cls(hdr, txs, cert)

    def hash(self):
        return self.header.hash()


# ---- messages (docs/protocol.md §3-4) ---------------------------------------

@dataclass
class Version:
    protocol: int
    chain_id: int
    genesis: bytes
    node_key: bytes
    height: int
    listen: str
    nonce: int
    user_agent: str
    sig: bytes = bytes(64)

    def body(self):
        return (Writer().u32(self.protocol).u32(self.chain_id).raw(self.genesis).raw(self.node_key).u64(self.height)
                .var(self.listen.encode()).u64(self.nonce).var(self.user_agent.encode()).bytes())

    def sign_bytes(self, exporter):
        return h("handshake", exporter + self.body())

    def verify(self, exporter):
        return verify(self.node_key, self.sig, self.sign_bytes(exporter))


@dataclass
class Heartbeat:
    key: bytes
    height: int
    time_ms: int
    addr: str
    sig: bytes = bytes(64)

    def body(self):
        return Writer().raw(self.key).u64(self.height).u64(self.time_ms).var(self.addr.encode()).bytes()

    def sign_bytes(self, chain_id=DEVNET_CHAIN_ID):
        return h("heartbeat", struct.pack("<I", chain_id) + self.body())


@dataclass
class Reject:
    type: int
    code: int
    reason: str


def encode_payload(t, m):
    """The payload of message type t from its Python value:
    version: Version (signed); verack/getpeers/getmasternodes: None;
    ping/pong: (nonce, height); peers: [(addr, last_seen)];
    masternodes: [(key, tier, addr, last_ms)]; heartbeat: Heartbeat;
    inv/getdata: (inv_type, [hash]); tx: raw bytes; proposal: (Proposal
    or 144 raw bytes, block bytes or b""); vote: Vote or 141 raw bytes;
    block: (block bytes, cert bytes); getblocks: (from, count);
    blocks: [(block bytes, cert bytes)]; gethash: height;
    hash: (height, hash, cert bytes); evidence: (Vote, Vote); reject: Reject;
    mnauth: (operator key bytes, sig bytes).
    Encodes what it is given, valid or not: an adversary may want either."""
    w = Writer()
    if t == T.VERSION:
        return m.body() + m.sig
    if t in (T.VERACK, T.GETPEERS, T.GETMASTERNODES):
        return b""
    if t in (T.PING, T.PONG):
        return w.u64(m[0]).u64(m[1]).bytes()
    if t == T.PEERS:
        w.cs(len(m))
        for addr, seen in m:
            w.var(addr.encode()).u64(seen)
        return w.bytes()
    if t == T.MASTERNODES:
        w.cs(len(m))
        for key, tier, addr, last in m:
            w.raw(key).u8(tier).var(addr.encode()).u64(last)
        return w.bytes()
    if t == T.HEARTBEAT:
        return m.body() + m.sig
    if t in (T.INV, T.GETDATA):
        w.u8(m[0]).cs(len(m[1]))
        for x in m[1]:
            w.raw(x)
        return w.bytes()
    if t == T.TX:
        return bytes(m)
    if t == T.PROPOSAL:
        prop, block = m
        return w.raw(prop if isinstance(prop, (bytes, bytearray)) else prop.encode()).var(block).bytes()
    if t == T.VOTE:
        return bytes(m) if isinstance(m, (bytes, bytearray)) else m.encode()
    if t == T.BLOCK:
        return w.var(m[0]).var(m[1]).bytes()
    if t == T.GETBLOCKS:
        return w.u64(m[0]).u32(m[1]).bytes()
    if t == T.BLOCKS:
        w.cs(len(m))
        for blk, cert in m:
            w.var(blk).var(cert)
        return w.bytes()
    if t == T.GETHASH:
        return w.u64(m).bytes()
    if t == T.HASH:
        return w.u64(m[0]).raw(m[1]).var(m[2]).bytes()
    if t == T.EVIDENCE:
        return m[0].encode() + m[1].encode()
    if t == T.REJECT:
        return w.u16(m.type).u32(m.code).var(m.reason.encode()).bytes()
    if t == T.MNAUTH:
        return m[0] + m[1]
    raise ValueError(f"unknown message type {t}")


def decode_payload(t, payload):
    """Decodes and checks a payload as the node's decoders do; returns the
    value encode_payload takes (proposal: (Proposal, block bytes); vote:
    Vote; evidence: (Vote, Vote)). Raises DecodeError."""
    r = Reader(payload)
    if t == T.VERSION:
        m = Version(r.u32(), r.u32(), r.raw(32), r.raw(32), r.u64(), _netaddr(r, True), r.u64(),
                    _text(r, MAX_TEXT), r.raw(64))
    elif t in (T.VERACK, T.GETPEERS, T.GETMASTERNODES):
        m = None
    elif t in (T.PING, T.PONG):
        m = (r.u64(), r.u64())
    elif t == T.PEERS:
        m = [(_netaddr(r, False), r.u64()) for _ in range(r.count(MAX_PEERS, 10))]
    elif t == T.MASTERNODES:
        m = []
        for _ in range(r.count(8192, 43)):
            key, tier = r.raw(32), r.u8()
            if tier > 3:
                raise DecodeError(f"tier {tier}")
            m.append((key, tier, _netaddr(r, False), r.u64()))
    elif t == T.HEARTBEAT:
        m = Heartbeat(r.raw(32), r.u64(), r.u64(), _netaddr(r, False), r.raw(64))
    elif t in (T.INV, T.GETDATA):
        kind = r.u8()
        if kind not in (INV_TX, INV_BLOCK):
            raise DecodeError(f"inv type {kind}")
        n = r.count(MAX_INV, 32)
        if n == 0:
            raise DecodeError("empty inv")
        m = (kind, [r.raw(32) for _ in range(n)])
    elif t == T.TX:
        data = r.raw(r.left())
        if not data or len(data) > 1_000_000:
            raise DecodeError("tx size")
        tr = Reader(data)
        read_tx(tr)
        tr.done()
        m = data
    elif t == T.PROPOSAL:
        prop = Proposal.decode(r.raw(PROPOSAL_SIZE))
        block = r.var(2_000_000)
        if block:
            Block.decode(block)
        m = (prop, block)
    elif t == T.VOTE:
        m = Vote.decode(r.raw(VOTE_SIZE))
    elif t == T.BLOCK:
        block, cert = r.var(2_000_000), r.var(8 + 4 + 32 + 3 + 1000 * 96)
        if not block:
            raise DecodeError("empty block")
        m = (block, cert)
    elif t == T.GETBLOCKS:
        m = (r.u64(), r.u32())
        if not 1 <= m[1] <= MAX_BLOCKS:
            raise DecodeError(f"getblocks count {m[1]}")
    elif t == T.BLOCKS:
        m = []
        for _ in range(r.count(MAX_BLOCKS, 2)):
            block, cert = r.var(2_000_000), r.var(8 + 4 + 32 + 3 + 1000 * 96)
            if not block or not cert:
                raise DecodeError("empty block or certificate in blocks")
            m.append((block, cert))
    elif t == T.GETHASH:
        m = r.u64()
    elif t == T.HASH:
        m = (r.u64(), r.raw(32), r.var(8 + 4 + 32 + 3 + 1000 * 96))
        if m[1] == ZERO32 and m[2]:
            raise DecodeError("zero hash with a certificate")
    elif t == T.EVIDENCE:
        m = (Vote.read(r), Vote.read(r))
    elif t == T.REJECT:
        m = Reject(r.u16(), r.i32(), _text(r, MAX_TEXT))
    elif t == T.MNAUTH:
        m = (r.raw(32), r.raw(64))
    else:
        raise DecodeError(f"unknown message type {t}")
    r.done()
    return m


def mnauth_sign_bytes(operator_pub, exporter, sender_node_key, chain_id=DEVNET_CHAIN_ID):
    """What an mnauth signs (docs/protocol.md, mnauth): the session's
    exporter, the chain id, the sending node's key, the operator key."""
    return h("mnauth", exporter + struct.pack("<I", chain_id) + sender_node_key + operator_pub)


def frame(t, payload, magic=DEVNET_MAGIC):
    """magic[4] | u16 type | u32 length | payload."""
    return magic + struct.pack("<HI", t, len(payload)) + payload


class FrameParser:
    """Incremental frame parser: feed() bytes, get [(type, payload)]."""

    def __init__(self, magic=DEVNET_MAGIC, max_payload=MAX_FRAME):
        self.magic, self.max, self.buf = magic, max_payload, bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= FRAME_HEADER:
            if bytes(self.buf[:4]) != self.magic:
                raise DecodeError("wrong magic")
            t, n = struct.unpack("<HI", self.buf[4:10])
            if n > self.max:
                raise DecodeError(f"frame of {n} bytes")
            if len(self.buf) < FRAME_HEADER + n:
                break
            out.append((t, bytes(self.buf[FRAME_HEADER:FRAME_HEADER + n])))
            del self.buf[:FRAME_HEADER + n]
        return out


# ================================================================ link ======

def self_signed_cert(key):
    """(cert PEM, key PEM): an X.509 v3 self-signed Ed25519 certificate for
    the node key, subject "CN=timecoin node <8 bytes hex>" (docs/protocol.md §1)."""
    import datetime
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"timecoin node {key.pub[:8].hex()}")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.private.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=365 * 100)).sign(key.private, None))
    key_pem = key.private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def tls_context(key):
    """TLS 1.3 only, certificate required both ways, any self-signed
    certificate accepted (identity is its key), no tickets."""
    cert_pem, key_pem = self_signed_cert(key)
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_3_VERSION)
    ctx.use_certificate(crypto.load_certificate(crypto.FILETYPE_PEM, cert_pem))
    ctx.use_privatekey(crypto.load_privatekey(crypto.FILETYPE_PEM, key_pem))
    ctx.check_privatekey()
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda conn, cert, err, depth, ok: True)
    ctx.set_options(SSL.OP_NO_TICKET)
    ctx.set_mode(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
    return ctx


# OpenSSL's SSL_MODE_* values (pyOpenSSL does not name them): a retried send
# may pass the same bytes from another buffer, and may be written in part.
SSL_MODE_ENABLE_PARTIAL_WRITE = 0x1
SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2


class LinkClosed(ConnectionError):
    pass


class Peer:
    """One outbound link to a node on 127.0.0.1, as a TimeCoin peer.

        p = Peer(port, genesis_hex, key=Key.generate(), height=0)
        p.connect()                    # TCP, TLS 1.3, version/verack
        p.send(T.VOTE, vote)
        t, m = p.recv(T.PROPOSAL, timeout=10)
        p.close()

    A reader thread decodes every frame into `inbox` (a Queue of (type,
    value)); pings are answered with `height` (or `ping_height`) at once;
    `on_message(peer, t, m)` (if set) runs on the reader thread first and
    may return True to keep the message out of the inbox (e.g. to answer
    getblocks). `rejects` collects reject messages; `closed_reason` says why
    the link ended.
    """

    def __init__(self, port, genesis, key=None, height=0, bind=None, user_agent="/adversary:1/",
                 listen="", chain_id=DEVNET_CHAIN_ID, magic=DEVNET_MAGIC, on_message=None, host=LOOPBACK):
        self.port = port
        self.host = host  # 127.0.0.1, or an address of a network namespace the test made
        self.genesis = bytes.fromhex(genesis) if isinstance(genesis, str) else bytes(genesis)
        self.key = key or Key.generate()
        self.height = height
        self.ping_height = None
        self.bind = bind
        self.user_agent = user_agent
        self.listen = listen
        self.chain_id = chain_id
        self.magic = magic
        self.on_message = on_message
        self.inbox = queue.Queue()
        self.rejects = []
        self.peer_version = None
        self.peer_key = None
        self.exporter = None
        self.closed_reason = None
        self.received = 0
        self._sock = None
        self._tls = None
        self._lock = threading.Lock()
        self._parser = FrameParser(magic)
        self._stop = threading.Event()
        self._thread = None

    # -- setup --

    def connect(self, timeout=10.0, handshake=True):
        """TCP (bound to `bind` if given), TLS 1.3, then the version/verack
        handshake (unless handshake=False). Raises on failure."""
        deadline = time.monotonic() + timeout
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.bind:
            s.bind((self.bind, 0))
        s.settimeout(timeout)
        s.connect((self.host, self.port))
        self._sock = s
        self._tls = SSL.Connection(tls_context(self.key), s)
        self._tls.set_connect_state()
        s.setblocking(False)  # a Python socket timeout makes it non-blocking anyway
        while True:
            try:
                self._tls.do_handshake()
                break
            except (SSL.WantReadError, SSL.WantWriteError):
                left = deadline - time.monotonic()
                if left <= 0:
                    s.close()
                    raise TimeoutError("TLS handshake timed out") from None
                select.select([s], [], [], min(left, 0.05))
            except (SSL.Error, OSError):
                s.close()
                raise
        cert = self._tls.get_peer_certificate()
        if cert is None:
            raise LinkClosed("no peer certificate")
        self.peer_key = cert.to_cryptography().public_key().public_bytes(serialization.Encoding.Raw,
                                                                          serialization.PublicFormat.Raw)
        self.exporter = self._tls.export_keying_material(EXPORTER_LABEL, 32, None)
        self._thread = threading.Thread(target=self._read_loop, name=f"adversary:{self.port}", daemon=True)
        self._thread.start()
        if handshake:
            self.handshake(max(0.1, deadline - time.monotonic()))
        return self

    def make_version(self, height=None, nonce=None):
        v = Version(PROTOCOL_VERSION, self.chain_id, self.genesis, self.key.pub,
                    self.height if height is None else height, self.listen,
                    nonce if nonce is not None else int.from_bytes(os.urandom(8), "little"), self.user_agent)
        v.sig = self.key.sign(v.sign_bytes(self.exporter))
        return v

    def handshake(self, timeout=10.0):
        """Sends version, checks the peer's (chain, genesis, key = certificate
        key, signature over this session's exporter), sends verack, waits for
        the peer's verack."""
        self.send(T.VERSION, self.make_version())
        _, v = self.recv(T.VERSION, timeout=timeout, strict=True)
        if v.chain_id != self.chain_id or v.genesis != self.genesis:
            raise LinkClosed("peer on another chain")
        if v.node_key != self.peer_key or not v.verify(self.exporter):
            raise LinkClosed("peer version not bound to this session")
        self.peer_version = v
        self.send(T.VERACK, None)
        self.recv(T.VERACK, timeout=timeout, strict=True)
        return v

    # -- I/O --

    def send_raw(self, data, timeout=30.0):
        """Writes bytes on the TLS link (whole frames, or anything else)."""
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            if self.closed_reason is not None and self._tls is None:
                raise LinkClosed(self.closed_reason)
            try:
                with self._lock:
                    n = self._tls.send(view[:1 << 20].tobytes())
                view = view[n:]
            except (SSL.WantWriteError, SSL.WantReadError):
                if time.monotonic() > deadline:
                    raise TimeoutError("peer does not read") from None
                select.select([], [self._sock], [], 0.05)
            except (SSL.Error, OSError) as e:
                self.closed_reason = self.closed_reason or f"send: {e!r}"
                raise LinkClosed(self.closed_reason) from None

    def send(self, t, m, magic=None, timeout=30.0):
        """Encodes message m of type t (see encode_payload) and sends the frame;
        TimeoutError if the peer does not take it within `timeout`."""
        self.send_raw(frame(t, encode_payload(t, m), magic or self.magic), timeout)

    def recv(self, types=None, timeout=10.0, strict=False):
        """Next message (type, value) whose type is in `types` (an int, a
        tuple, or None for any); others are dropped unless strict, where any
        other type raises. Raises TimeoutError, or LinkClosed once the link
        is gone and the inbox is empty."""
        if isinstance(types, int):
            types = (types,)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {types} within {timeout} s (closed: {self.closed_reason})")
            try:
                t, m = self.inbox.get(timeout=min(left, 0.1))
            except queue.Empty:
                if self.closed_reason is not None and self.inbox.empty():
                    raise LinkClosed(self.closed_reason) from None
                continue
            if t is None:
                continue
            if types is None or t in types:
                return t, m
            if strict:
                raise LinkClosed(f"expected {types}, got {T.NAMES.get(t, t)}: {m!r:.200}")

    def drain(self):
        """Everything queued so far, as [(type, value)]."""
        out = []
        while True:
            try:
                out.append(self.inbox.get_nowait())
            except queue.Empty:
                return out

    def alive(self):
        return self.closed_reason is None

    def _read_loop(self):
        try:
            while not self._stop.is_set():
                data = b""
                try:
                    with self._lock:
                        data = self._tls.recv(1 << 18)
                except (SSL.WantReadError, SSL.WantWriteError):
                    select.select([self._sock], [], [], 0.05)
                    continue
                except SSL.ZeroReturnError:
                    self.closed_reason = "peer closed TLS"
                    return
                except (SSL.Error, OSError) as e:
                    self.closed_reason = f"recv: {e!r}"
                    return
                if not data:
                    self.closed_reason = "peer closed"
                    return
                for t, payload in self._parser.feed(data):
                    self._dispatch(t, payload)
        except DecodeError as e:
            self.closed_reason = f"peer sent an undecodable frame: {e}"
        except Exception as e:  # noqa: BLE001 - the thread must record why it ended
            self.closed_reason = f"reader failed: {e!r}"

    def _dispatch(self, t, payload):
        m = decode_payload(t, payload)
        self.received += 1
        if t == T.PING:
            h_ = self.height if self.ping_height is None else self.ping_height
            try:
                self.send(T.PONG, (m[0], h_), )
            except (LinkClosed, TimeoutError):
                pass
            return
        if t == T.REJECT:
            self.rejects.append(m)
        if self.on_message is not None and self.on_message(self, t, m):
            return
        self.inbox.put((t, m))

    def close(self):
        """Ends the link (TLS close_notify if possible) and joins the reader."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._tls is not None:
            try:
                with self._lock:
                    self._tls.shutdown()
            except (SSL.Error, OSError):
                pass
        if self._sock is not None:
            self._sock.close()
        self.closed_reason = self.closed_reason or "closed by us"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ========================================================== behaviours ======

class Validator:
    """A devnet validator's keys, from the directory `time-cli devnet init`
    made (src/wallet/devnet.c): node<i>/operator.key signs consensus
    messages; node<i>/node.key (created by timed at first start) is the P2P
    identity. Without node.key a fresh P2P key is used."""

    def __init__(self, node_dir):
        d = Path(node_dir)
        self.operator = Key.load(d / "operator.key")
        self.node_key = Key.load(d / "node.key") if (d / "node.key").exists() else Key.generate()


def operator_keys(devnet_dir):
    """The operator keys of genesis.json's masternodes, sorted byte-wise (the
    validator set's order)."""
    import json
    g = json.loads((Path(devnet_dir) / "genesis.json").read_text())
    mns = g.get("masternodes") or g.get("validators") or []
    return sorted(bytes.fromhex(m["operator_pubkey"]) for m in mns)


def proposer_of(keys, height, round_):
    """Proposer of (height, round) for equal weights: weighted round-robin
    (src/consensus/proposer.c) reduces to keys[(height + round) % n]."""
    return keys[(height + round_) % len(keys)]


def fetch_blocks(peer, start, count, timeout=10.0):
    """getblocks from `start`; returns [(Block, block bytes, cert bytes)]."""
    peer.send(T.GETBLOCKS, (start, count))
    _, got = peer.recv(T.BLOCKS, timeout=timeout)
    return [(Block.decode(b), b, c) for b, c in got]


def junk_block(template, height, salt, proposer=None, prev=None):
    """A decodable block for `height` made from a real one: header fields
    altered (height, time, proposer, previous hash if given, utxo commitment
    salted), body kept. Returns (block bytes, header hash). Invalid as a
    block (with `template` the parent and prev its hash, only the body and
    the commitments are wrong), well-formed to the last byte."""
    hdr = replace(template.header, height=height, time_ms=template.header.time_ms + 1 + salt,
                  proposer=proposer or template.header.proposer, prev=prev or template.header.prev,
                  utxo_commitment=h("utxo set", salt.to_bytes(8, "little")))
    blk = Block(hdr, template.txs, template.last_commit)
    return blk.encode(), hdr.hash()


def make_proposal(key, height, round_, block_hash, pol_round=-1):
    return Proposal(height, round_, pol_round, block_hash).signed(key)


def make_vote(key, type_, height, round_, block_hash):
    return Vote(type_, height, round_, block_hash).signed(key)


def tamper_cert(cert_bytes, index=0):
    """A certificate with one signature byte flipped (still decodable)."""
    c = Cert.decode(cert_bytes)
    k, s = c.sigs[index]
    c.sigs[index] = (k, bytes([s[0] ^ 1]) + s[1:])
    return c.encode()


def peers_flood_payload(n, seed, dead_port_base):
    """n addresses in 127.0.0.0/8 (never 127.0.0.1) on ports where nothing
    listens, distinct per seed: [(addr, last_seen)]."""
    now = int(time.time())
    out = []
    for i in range(n):
        k = seed * n + i
        a, b, c = 2 + (k >> 16) % 250, (k >> 8) & 0xFF, 1 + (k & 0xFF) % 254
        out.append((f"127.{a}.{b}.{c}:{dead_port_base + (k % 50)}", now))
    return out


# ===================================================== devnet helpers ======

def init_devnet(dn, validators=4):
    """`time-cli devnet init --nodes <validators>` into a Devnet that may hold
    more node slots (followers added with add_follower)."""
    from framework import run
    r = run([dn.time_cli, "devnet", "init", "--nodes", validators, "--dir", dn.dir, "--base-port", dn.base_port])
    if r.rc != 0:
        raise AssertionError(f"devnet init failed: {r.stderr}")


def start_devnet(devnet_factory, run=(0, 1, 2, 3), slots=4, flags=None):
    """4 validators from `devnet init`, the ones in `run` started; waits for height 2."""
    dn = devnet_factory(nodes=slots, init=False, start=False)
    init_devnet(dn, validators=4)
    for i in run:
        dn.start(i, *((flags or {}).get(i, ())), wait=False)
    for i in run:
        dn.wait_ready(i)
    dn.wait_until(lambda: min(dn.rpc(i, "getblockcount") for i in run) >= 2, timeout=60,
                  message="the devnet to commit height 2")
    return dn


def add_follower(dn, index, connect=(), template=0):
    """Writes node<index>/time.conf: a non-validator (no operator key) on its
    own ports, connecting only to the node indexes in `connect`."""
    src, dst = dn.node(template), dn.node(index)
    os.makedirs(dst.dir, exist_ok=True)
    base = dn.base_port + 10 * index
    lines = []
    for line in Path(src.conf).read_text().splitlines():
        key = line.split("=", 1)[0].strip()
        if key in ("operator-key", "connect", "datadir", "listen", "rpc-listen", "metrics-listen"):
            continue
        lines.append(line)
    lines += [f"datadir = {dst.dir}", f"listen = {LOOPBACK}:{base}", f"rpc-listen = {LOOPBACK}:{base + 1}",
              f"metrics-listen = {LOOPBACK}:{base + 2}"]
    lines += [f"connect = {LOOPBACK}:{dn.node(j).p2p_port}" for j in connect]
    Path(dst.conf).write_text("\n".join(lines) + "\n")


def genesis_hash(dn, i=0):
    return dn.rpc(i, "getblockchaininfo")["genesis"]


def metric(text, name, **labels):
    """Sum of the samples of metric `name` (timecoin_ prefix added) whose
    labels include `labels`."""
    total = 0.0
    full = "timecoin_" + name
    for line in text.splitlines():
        if not line.startswith(full) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        metric_name = head.split("{", 1)[0]
        if metric_name != full:
            continue
        lab = {}
        if "{" in head:
            for part in head[head.index("{") + 1:head.rindex("}")].split(","):
                if "=" in part:
                    k, v = part.split("=", 1)
                    lab[k.strip()] = v.strip().strip('"')
        if all(lab.get(k) == v for k, v in labels.items()):
            total += float(value)
    return total


class CommitWatch:
    """Polls getblockcount on some nodes from a thread and records, per
    node, when each new height was first seen: the worst gap between
    consecutive commits, and the RPC latency (the slowest answer)."""

    def __init__(self, dn, nodes, interval=0.1):
        self.dn, self.nodes, self.interval = dn, list(nodes), interval
        self.seen = {i: [] for i in self.nodes}      # [(monotonic, height)]
        self.max_rpc = {i: 0.0 for i in self.nodes}
        self.errors = {i: 0 for i in self.nodes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            for i in self.nodes:
                t0 = time.monotonic()
                try:
                    height = self.dn.rpc(i, "getblockcount", timeout=10)
                except Exception:  # noqa: BLE001 - a slow or dead RPC is what we measure
                    self.errors[i] += 1
                    self.max_rpc[i] = max(self.max_rpc[i], time.monotonic() - t0)
                    continue
                t1 = time.monotonic()
                self.max_rpc[i] = max(self.max_rpc[i], t1 - t0)
                s = self.seen[i]
                if not s or height > s[-1][1]:
                    s.append((t1, height))
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(15)
        return self

    def worst_gap(self, i, until=None):
        """Longest time (s) without a new height on node i, up to `until`
        (default now): the gaps between first sightings, and the open one."""
        s = self.seen[i]
        if not s:
            return float("inf")
        end = until if until is not None else time.monotonic()
        gaps = [b[0] - a[0] for a, b in zip(s, s[1:])] + [end - s[-1][0]]
        return max(gaps)

    def report(self, label):
        lines = []
        for i in self.nodes:
            s = self.seen[i]
            lines.append(f"{label}: node{i} heights {s[0][1] if s else '?'}..{s[-1][1] if s else '?'}"
                         f" worst commit gap {self.worst_gap(i):.2f} s, slowest getblockcount"
                         f" {self.max_rpc[i]:.3f} s, failed polls {self.errors[i]}")
        text = "\n".join(lines)
        print(text)
        return text
