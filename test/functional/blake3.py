"""BLAKE3 in pure Python, written from the specification
(O'Connor, Aumasson, Neves, Wilcox-O'Hearn: "BLAKE3 - one function, fast
everywhere", 2020, sections 2.1-2.6): hash, keyed hash and derive-key modes,
with extendable output. Slow (a few MB/s at best) but enough for the
functional tests, which hash headers, votes and handshakes.

TimeCoin uses derive-key mode for every domain-separated hash
(docs/chain.md, "Hashing"): `derive_key(context, data)`.

    blake3(b"abc").hex()                    # 32-byte hash
    blake3(b"abc", length=131)              # extended output
    keyed_hash(key32, data)
    derive_key("TimeCoin v1 vote", data)    # context: str or bytes

Checked against the official test vectors (the ones test/unit/test_hash.c
pins) by test_blake3.py.
"""

MASK = 0xFFFFFFFF
BLOCK_LEN = 64
CHUNK_LEN = 1024
OUT_LEN = 32

CHUNK_START = 1 << 0
CHUNK_END = 1 << 1
PARENT = 1 << 2
ROOT = 1 << 3
KEYED_HASH = 1 << 4
DERIVE_KEY_CONTEXT = 1 << 5
DERIVE_KEY_MATERIAL = 1 << 6

# The IV is SHA-256's (spec table 1).
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
      0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)

# Message word permutation applied between rounds (spec table 2).
PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)


def _schedules():
    """The message word order of each of the 7 rounds (permutation applied
    cumulatively), precomputed so compress() indexes directly."""
    order = list(range(16))
    rounds = []
    for _ in range(7):
        rounds.append(tuple(order))
        order = [order[p] for p in PERMUTATION]
    return tuple(rounds)


SCHEDULE = _schedules()


def compress(cv, block_words, counter, block_len, flags):
    """The compression function: 8-word chaining value, 16 message words,
    64-bit counter, block length and flags -> the 16-word state."""
    v = [cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
         IV[0], IV[1], IV[2], IV[3],
         counter & MASK, (counter >> 32) & MASK, block_len, flags]
    m = block_words
    for s in SCHEDULE:
        # columns, then diagonals; G inlined (quarter rounds with 16/12/8/7 rotations)
        for i, (a, b, c, d) in enumerate(((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                                          (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14))):
            x, y = m[s[2 * i]], m[s[2 * i + 1]]
            va = (v[a] + v[b] + x) & MASK
            vd = v[d] ^ va
            vd = ((vd >> 16) | (vd << 16)) & MASK
            vc = (v[c] + vd) & MASK
            vb = v[b] ^ vc
            vb = ((vb >> 12) | (vb << 20)) & MASK
            va = (va + vb + y) & MASK
            vd ^= va
            vd = ((vd >> 8) | (vd << 24)) & MASK
            vc = (vc + vd) & MASK
            vb ^= vc
            vb = ((vb >> 7) | (vb << 25)) & MASK
            v[a], v[b], v[c], v[d] = va, vb, vc, vd
    for i in range(8):
        v[i] ^= v[i + 8]
        v[i + 8] ^= cv[i]
    return v


def _words(block):
    """64 bytes (zero-padded) -> 16 little-endian words."""
    block = block.ljust(BLOCK_LEN, b"\0")
    return [int.from_bytes(block[4 * i:4 * i + 4], "little") for i in range(16)]


class _Output:
    """What the root (or any) node would compress: the inputs of its last
    compression, so it can be turned into a chaining value or into root
    output of any length (XOF: counter over output blocks)."""

    def __init__(self, cv, words, counter, block_len, flags):
        self.cv, self.words, self.counter, self.block_len, self.flags = cv, words, counter, block_len, flags

    def chaining_value(self):
        return compress(self.cv, self.words, self.counter, self.block_len, self.flags)[:8]

    def root_bytes(self, length):
        out = bytearray()
        block = 0
        while len(out) < length:
            state = compress(self.cv, self.words, block, self.block_len, self.flags | ROOT)
            out += b"".join(w.to_bytes(4, "little") for w in state)
            block += 1
        return bytes(out[:length])


def _chunk_output(key, chunk, counter, flags):
    """Compresses one chunk (≤ 1024 bytes) up to its last block."""
    cv = list(key)
    blocks = [chunk[i:i + BLOCK_LEN] for i in range(0, len(chunk), BLOCK_LEN)] or [b""]
    for i, block in enumerate(blocks):
        f = flags | (CHUNK_START if i == 0 else 0)
        if i == len(blocks) - 1:
            return _Output(cv, _words(block), counter, len(block), f | CHUNK_END)
        cv = compress(cv, _words(block), counter, BLOCK_LEN, f)[:8]
    raise AssertionError("unreachable")


def _parent_output(left_cv, right_cv, key, flags):
    return _Output(list(key), list(left_cv) + list(right_cv), 0, BLOCK_LEN, flags | PARENT)


def _hash(data, key, flags, length):
    """The tree mode: chunks left to right, completed subtrees merged on a
    stack (a subtree is merged when the chunk count says it is complete),
    the last node compressed with ROOT."""
    data = bytes(data)
    n_chunks = max(1, (len(data) + CHUNK_LEN - 1) // CHUNK_LEN)
    stack = []
    for counter in range(n_chunks):
        out = _chunk_output(key, data[counter * CHUNK_LEN:(counter + 1) * CHUNK_LEN], counter, flags)
        if counter == n_chunks - 1:
            while stack:
                out = _parent_output(stack.pop(), out.chaining_value(), key, flags)
            return out.root_bytes(length)
        cv = out.chaining_value()
        total = counter + 1
        while total & 1 == 0:  # merge as many subtrees as trailing zero bits
            cv = _parent_output(stack.pop(), cv, key, flags).chaining_value()
            total >>= 1
        stack.append(cv)
    raise AssertionError("unreachable")


def blake3(data, length=OUT_LEN):
    """BLAKE3 hash of data, `length` bytes of output."""
    return _hash(data, IV, 0, length)


def keyed_hash(key, data, length=OUT_LEN):
    """BLAKE3 keyed hash under a 32-byte key."""
    if len(key) != 32:
        raise ValueError("BLAKE3 key must be 32 bytes")
    return _hash(data, [int.from_bytes(key[4 * i:4 * i + 4], "little") for i in range(8)], KEYED_HASH, length)


_CONTEXT_KEYS = {}


def context_key(context):
    """The key derive-key mode uses for `context` (hash of the context string
    with DERIVE_KEY_CONTEXT), cached: the tests use a dozen contexts."""
    if isinstance(context, str):
        context = context.encode()
    key = _CONTEXT_KEYS.get(context)
    if key is None:
        raw = _hash(context, IV, DERIVE_KEY_CONTEXT, 32)
        key = [int.from_bytes(raw[4 * i:4 * i + 4], "little") for i in range(8)]
        _CONTEXT_KEYS[context] = key
    return key


def derive_key(context, material, length=OUT_LEN):
    """BLAKE3 derive-key mode: `length` bytes from key material under a
    context string (TimeCoin's domain separation)."""
    return _hash(material, context_key(context), DERIVE_KEY_MATERIAL, length)
