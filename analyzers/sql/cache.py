"""The fingerprint cache: parse each distinct statement once.

Bounded LRUs keyed with the dialect, namespace and default schema:

1. the *text*: the statement exactly as logged. A hit is one dict lookup (a
   query logged thousands of times); nothing else is computed.
2. the *fingerprint*, computed only when the text misses: the text without
   comments, whitespace or literal values (:mod:`analyzers.sql.keys`),
   so the daily run of a job with a new date, id or range is parsed once.
3. the *template*, for a fingerprint seen over other tables: table names with
   a digit (``events_20240101``, ``report_job_7``) replaced by placeholders; a
   checked analysis is renamed to the new tables (:mod:`analyzers.sql.template`),
   the same result a fresh analysis gives.

>>> a = SqlAnalyzer(engine="spark", namespace="hive://w", default_schema="default")
>>> _ = a.analyze("SELECT x FROM t WHERE d = '2024-01-01'")
>>> _ = a.analyze("SELECT x FROM t WHERE d = '2024-01-02'")
>>> (a.hits, a.misses)
(1, 1)
>>> r = a.analyze("INSERT INTO out_2 SELECT x FROM t WHERE d = '2024-01-02'")
>>> r = a.analyze("INSERT INTO out_3 SELECT x FROM t WHERE d = '2024-01-03'")
>>> r.statements[0].outputs, a.stats()["template_hits"]
(('hive://w/default.out_3',), 1)
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import orjson

from analyzers.sql.errors import MAX_TOKENS, TIME_CAP_S
from analyzers.sql.keys import RESERVED, fingerprint, template_key
from analyzers.sql.model import AnalysisResult
from analyzers.sql.schemas import SchemaCatalog

if TYPE_CHECKING:
    from analyzers.sql.template import Template

# sqlglot (and the modules that use it: script, template) is imported at the first
# statement that needs a parse or a dialect's words: a run whose answers all come from a
# persistent store (see `SqlAnalyzer.stored_key`) never imports it.

__all__ = ["SqlAnalyzer", "fingerprint"]

V = TypeVar("V")
#: (engine, namespace, default schema, the catalog's version of the namespace)
Context = tuple[str, str, str | None, int]


class Store(Protocol):
    """Bytes kept across runs under 20-byte keys (``lineage analyze-sql --cache``)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, key: bytes, value: bytes) -> None: ...


class _Lru(Generic[V]):
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.data: OrderedDict[Any, V] = OrderedDict()

    def get(self, key: Any) -> V | None:
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key: Any, value: V) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.maxsize:
            self.data.popitem(last=False)


class SqlAnalyzer:
    """A cached SQL analyzer for one schema; call :meth:`analyze` per logged query.

    Args:
        engine, namespace, default_schema: defaults for :meth:`analyze`.
        schema: ``{"db.table": ["col", ...]}`` known columns (every namespace).
        catalog: known columns per namespace, static and learned
            (:class:`~analyzers.sql.schemas.SchemaCatalog`; built from ``schema``
            when not given). Its version of a namespace is part of the cache key.
        learn_ddl: teach the catalog the tables each analysed ``CREATE TABLE``
            defines, for the later statements of the same namespace.
        maxsize: entries of each LRU level.
        store: where templates are kept across runs (:meth:`template_key`); a text
            whose template is there is renamed from it, no parse. Not used with
            ``learn_ddl`` (an answer then depends on the statements before it).
    """

    def __init__(
        self,
        *,
        engine: str = "spark",
        namespace: str = "",
        default_schema: str | None = None,
        schema: Mapping[str, Iterable[str]] | None = None,
        catalog: SchemaCatalog | None = None,
        learn_ddl: bool = False,
        maxsize: int = 10_000,
        time_cap_s: float = TIME_CAP_S,
        max_tokens: int = MAX_TOKENS,
        store: Store | None = None,
    ) -> None:
        self.engine = engine
        self.store = store if not learn_ddl else None
        self.namespace = namespace
        self.default_schema = default_schema
        self.catalog = catalog if catalog is not None else SchemaCatalog(schema)
        self.learn_ddl = learn_ddl
        self._generation = self.catalog.generation
        self.maxsize = maxsize
        self.time_cap_s = time_cap_s
        self.max_tokens = max_tokens
        self._by_text: _Lru[AnalysisResult] = _Lru(maxsize)
        self._by_print: _Lru[AnalysisResult] = _Lru(maxsize)
        self._templates: _Lru[Template] = _Lru(maxsize)
        # (engine, namespace, default_schema) as passed -> the normalised context,
        # with the catalog's version of the namespace (cleared when the catalog changes).
        self._contexts: dict[tuple[str | None, ...], Context] = {}
        # keys computed by `group` for a text not yet analysed (see there)
        self._prepared: dict[tuple[Context, str], tuple[str, tuple[str, ...]]] = {}
        self._schema_digests: dict[Context, bytes] = {}
        self.hits = 0
        self.misses = 0
        self.template_hits = 0

    def _context(
        self, engine: str | None, namespace: str | None, default_schema: str | None
    ) -> Context:
        if self.catalog.generation != self._generation:
            self._contexts.clear()
            self._generation = self.catalog.generation
        args = (engine, namespace, default_schema)
        context = self._contexts.get(args)
        if context is None:
            ds = default_schema if default_schema is not None else self.default_schema
            ns = self.namespace if namespace is None else namespace
            context = ((engine or self.engine).lower(), ns, ds, self.catalog.version(ns))
            if len(self._contexts) < 1024:
                self._contexts[args] = context
        return context

    def analyze(
        self,
        sql: str,
        *,
        engine: str | None = None,
        namespace: str | None = None,
        default_schema: str | None = None,
    ) -> AnalysisResult:
        """The lineage of ``sql`` (one statement or a script), from the cache when seen before."""
        context = self._contexts.get((engine, namespace, default_schema))
        if context is None or self.catalog.generation != self._generation:
            context = self._context(engine, namespace, default_schema)
        key = (context, sql)
        texts = self._by_text.data
        result = texts.get(key)
        if result is not None:  # the hit path: one lookup
            texts.move_to_end(key)
            self.hits += 1
            return result
        return self._miss(key)

    def group(
        self,
        sql: str,
        *,
        engine: str | None = None,
        namespace: str | None = None,
        default_schema: str | None = None,
    ) -> tuple[Context, str]:
        """The cache group of ``sql``: its context and fingerprint or template key.

        Texts of one group may be answered from each other's analysis (the text,
        fingerprint and template levels); texts of different groups never are.
        So a log's groups can be analysed apart, each by its own analyzer (in
        another process), with the answers one analyzer gives them in order, as
        long as no analyzer evicts an entry (at most ``maxsize`` texts each) and
        none learns from DDL (``learn_ddl``), which links the groups of a
        namespace. The keys computed here are kept for the text's analysis.
        """
        context = self._context(engine, namespace, default_schema)
        keys = self._prepare(context, sql)
        return context, keys[0]

    def _prepare(self, context: Context, sql: str) -> tuple[str, tuple[str, ...]]:
        """The keys of a text not yet analysed, kept for its analysis (``_miss``)."""
        keys = self._prepared.get((context, sql))
        if keys is None:
            keys = _keys(sql, context[0])
            if len(self._prepared) < self._by_text.maxsize:
                self._prepared[(context, sql)] = keys
        return keys

    def stored_key(
        self,
        sql: str,
        *,
        engine: str | None = None,
        namespace: str | None = None,
        default_schema: str | None = None,
    ) -> bytes:
        """A digest naming the answer to ``sql`` in a store kept across runs.

        It covers what the fingerprint level keys in memory (engine, namespace,
        default schema, fingerprint or template key with its words) and the known
        columns of the namespace (their digest, for the catalog's version), not the
        literals: texts that differ only in literal values share it, as they share
        one answer in memory. The store's owner adds the code's identity (the
        analyzer's and sqlglot's versions). Only an answer with no error that does
        not depend on a literal (:attr:`AnalysisResult.literal_dependent`) may be
        stored under it. The keys computed here are kept for the text's analysis.
        """
        context = self._context(engine, namespace, default_schema)
        print_key, words = self._prepare(context, sql)
        return self._digest(context, "answer", print_key, words)

    def _digest(self, context: Context, level: str, key: str, words: tuple[str, ...]) -> bytes:
        """20 bytes naming a fingerprint or template ``key`` (no literals) and its ``words``
        at ``level`` in ``context`` and its known columns, across runs (the catalog's
        version number is not in it, its columns are)."""
        digest = self._schema_digests.get(context)
        if digest is None:
            schema = self.catalog.schema_for(context[1], context[2])
            digest = hashlib.blake2b(repr(sorted(schema.items())).encode()).digest()
            if len(self._schema_digests) >= 1024:
                self._schema_digests.clear()
            self._schema_digests[context] = digest
        h = hashlib.blake2b(digest, digest_size=20)
        # repr escapes NUL: the first NUL ends it
        h.update(repr((context[:3], level, words)).encode("utf-8", "surrogatepass") + b"\0")
        h.update(key.encode("utf-8", "surrogatepass"))
        return h.digest()

    def _template(self, context: Context, print_key: str) -> Template | None:
        """The template of a template key, from memory or from the store."""
        template = self._templates.get((context, print_key))
        if template is None and self.store is not None:
            data = self.store.get(self._digest(context, "template", print_key, ()))
            if data is not None:
                from analyzers.sql.template import Template

                try:
                    template = Template.from_json(orjson.loads(data))
                except (ValueError, TypeError, KeyError):
                    return None
                self._templates.put((context, print_key), template)
        return template

    def _miss(self, key: tuple[Context, str]) -> AnalysisResult:
        context, sql = key
        engine, namespace, ds, _ = context
        keys = self._prepared.pop(key, None)
        print_key, words = keys if keys is not None else _keys(sql, engine)
        exact = (context, print_key, words)
        result = self._by_print.get(exact)
        if result is not None:
            self.hits += 1
            self._by_text.put(key, result)
            return result
        schema = self.catalog.schema_for(namespace, ds)
        if words:
            template = self._template(context, print_key)
            if template is not None:
                result = template.apply(words, schema)
                if result is not None:
                    self.hits += 1
                    self.template_hits += 1
                    self._by_print.put(exact, result)
                    self._by_text.put(key, result)
                    return result
        self.misses += 1
        from analyzers.sql.script import analyze_script
        from analyzers.sql.template import Probe

        probe = Probe(sql, words, ds, schema) if words else None
        result = analyze_script(
            sql,
            engine=engine,
            namespace=namespace,
            default_schema=ds,
            schema=schema,
            time_cap_s=self.time_cap_s,
            max_tokens=self.max_tokens,
            on_parse=probe.inspect if probe is not None else None,
        )
        self._by_text.put(key, result)
        if self.learn_ddl and result.defined:
            for table, columns in result.defined:
                self.catalog.learn(namespace, table, columns)
        if result.literal_dependent:  # a path or query text hidden by the fingerprint
            return result
        if result.errors:  # their messages give positions in this text, not in its group
            return result
        self._by_print.put(exact, result)
        if probe is not None and (context, print_key) not in self._templates.data:
            template = probe.template(result, namespace)
            if template is not None:
                self._templates.put((context, print_key), template)
                if self.store is not None:
                    kept = self._digest(context, "template", print_key, ())
                    self.store.put(kept, orjson.dumps(template.to_json()))
        return result

    @property
    def size(self) -> int:
        return len(self._by_text.data)

    def stats(self) -> dict[str, int]:
        """Hits (of which renamed from a template), misses (full analyses), cached texts."""
        return {
            "hits": self.hits,
            "misses": self.misses,
            "template_hits": self.template_hits,
            "size": self.size,
        }


_UNSEEN = frozenset({"\x00unseen"})


def _keys(sql: str, engine: str) -> tuple[str, tuple[str, ...]]:
    """The fingerprint and template words of ``sql``; the fingerprint alone (no words)
    for an engine whose words are unknown (no templates)."""
    reserved = RESERVED.get(engine, _UNSEEN)
    if reserved is _UNSEEN:
        from analyzers.sql.template import reserved_words

        reserved = reserved_words(engine)
    if reserved is None:
        return fingerprint(sql), ()
    return template_key(sql, reserved)
