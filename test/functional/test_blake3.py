"""The pure-Python BLAKE3 of the adversary against the official test vectors,
read from test/unit/test_hash.c (the copy the C build already pins), all
three modes with the full 131-byte extended output."""
import re

from blake3 import blake3, derive_key, keyed_hash
from framework import REPO_ROOT

KEY = b"whats the Elvish word for friend"
CONTEXT = "BLAKE3 2019-12-27 16:29:52 test vectors context"


def official_vectors():
    """[(input length, hash hex, keyed hex, derive hex)] from test_hash.c."""
    text = (REPO_ROOT / "test" / "unit" / "test_hash.c").read_text()
    table = text[text.index("static const struct vec vecs[]"):]
    table = table[:table.index("};")]
    vecs = []
    for m in re.finditer(r"\{(\d+),((?:\s*\"[0-9a-f]+\")+),((?:\s*\"[0-9a-f]+\")+),((?:\s*\"[0-9a-f]+\")+)\}", table):
        join = lambda s: "".join(re.findall(r"\"([0-9a-f]+)\"", s))  # noqa: E731
        vecs.append((int(m.group(1)), join(m.group(2)), join(m.group(3)), join(m.group(4))))
    return vecs


def test_official_vectors():
    vecs = official_vectors()
    assert len(vecs) >= 6, "could not read the vectors from test_hash.c"
    for n, h, k, d in vecs:
        data = bytes(i % 251 for i in range(n))
        assert blake3(data, 131).hex() == h, f"hash, input length {n}"
        assert keyed_hash(KEY, data, 131).hex() == k, f"keyed hash, input length {n}"
        assert derive_key(CONTEXT, data, 131).hex() == d, f"derive key, input length {n}"
        assert blake3(data) == bytes.fromhex(h[:64])
