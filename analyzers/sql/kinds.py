"""Edge kinds after OpenLineage's column-lineage facet, and how expressions map to them.

Direct kinds are ranked; passing a value through several layers keeps the
strongest: ``IDENTITY < TRANSFORMATION < AGGREGATION``.

>>> compose(IDENTITY, TRANSFORMATION)
'TRANSFORMATION'
>>> is_masking(exp.MD5(this=exp.column("x")))
True
"""

from __future__ import annotations

from sqlglot import exp

IDENTITY = "IDENTITY"
TRANSFORMATION = "TRANSFORMATION"
AGGREGATION = "AGGREGATION"

JOIN = "JOIN"
GROUP_BY = "GROUP_BY"
FILTER = "FILTER"
SORT = "SORT"
WINDOW = "WINDOW"
CONDITIONAL = "CONDITIONAL"

DIRECT_RANK: dict[str, int] = {IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2}
_BY_RANK = (IDENTITY, TRANSFORMATION, AGGREGATION)


def compose(outer: str, inner: str) -> str:
    """The direct kind of a value that went through ``inner`` then ``outer``."""
    return _BY_RANK[max(DIRECT_RANK[outer], DIRECT_RANK[inner])]


# Function names (lower-case) whose output hides its input: hashes and fingerprints.
HASH_FUNCTIONS = frozenset(
    {
        "md5",
        "md5digest",
        "md5_hex",
        "md5numberlower64",
        "md5numberupper64",
        "sha",
        "sha1",
        "sha1digest",
        "sha2",
        "sha2digest",
        "sha224",
        "sha256",
        "sha384",
        "sha512",
        "sha1_hex",
        "sha2_hex",
        "standardhash",
        "standard_hash",
        "hash",
        "hash64",
        "hashbytes",
        "hmac",
        "hmac_sha256",
        "xxhash64",
        "xxhash32",
        "xxhash",
        "murmur_hash3",
        "murmurhash3_32",
        "murmur3",
        "crc32",
        "cityhash64",
        "farmfingerprint",
        "farm_fingerprint",
        "fingerprint",
        "fnv_hash",
        "fnv1a_64",
        "sip_hash64",
        "siphash64",
        "approx_set",
    }
)

# Nodes that pass a value through unchanged.
PASSTHROUGH: tuple[type[exp.Expr], ...] = (
    exp.Alias,
    exp.Paren,
    exp.Distinct,
    exp.Subquery,
    exp.Ordered,
)

# Leaves that carry no source column.
NO_SOURCE: tuple[type[exp.Expr], ...] = (
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Star,
    exp.Placeholder,
    exp.DataType,
    exp.Var,
    exp.Identifier,
    exp.Parameter,
    exp.JSONPath,
)


def function_name(node: exp.Expr) -> str:
    """The lower-case name of a function node (anonymous ones by their called name)."""
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return type(node).__name__.lower()


def is_masking(node: exp.Expr) -> bool:
    """Whether the node hashes its input (md5, sha1, sha2, hash-like functions)."""
    return isinstance(node, exp.Func) and function_name(node) in HASH_FUNCTIONS
