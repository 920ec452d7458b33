"""
Aggregation: fold every contribution of an entity into its one aggregate.

A pure function of the contributions, so that the result does not depend on
the order in which bundles were indexed or on how often a notification was
delivered:

1. per bundle uuid only the contributions of the newest version count;
2. if the newest version of a bundle was deleted, that bundle drops out;
3. an inner entity (donor, specimen, ...) contributed by several bundles is
   taken from the newest bundle version that has it;
4. the plugin's aggregator for each inner entity type folds the entities'
   fields with accumulators.

The accumulators follow the original Azul's: a field becomes the sorted set
of its values, nulls last, capped at `MAX_VALUES` distinct values (the first
ones seen are kept); a list value contributes its elements.
"""
import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import attrs
import orjson

from azul.core.documents import Aggregate, BundleFQID, Contribution

log = logging.getLogger(__name__)

# The original's default cap on the distinct values of one field of one
# aggregate, so that a project of a million files cannot make a document too
# big to index. Hitting it is logged with the field's name.
MAX_VALUES = 100


def _canonical(value: Any) -> str:
    # Equal JSON values must give equal keys, whatever their key order
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


_CONTAINERS = (dict, list)


def _frozen(value: Any) -> Hashable:
    return _canonical(value) if isinstance(value, _CONTAINERS) else value


def none_last(value: Any) -> tuple:
    return (1, '') if value is None else (0, value)


class Accumulator(ABC):
    @abstractmethod
    def add(self, value: Any) -> None: ...

    def add_all(self, values: Sequence[Any]) -> None:
        """`add` each value in turn."""
        add = self.add
        for value in values:
            add(value)

    @abstractmethod
    def get(self) -> Any: ...


class SetAccumulator(Accumulator):
    """Distinct values, sorted nulls last; a list adds its elements."""

    def __init__(self, name: str = '', max_size: int | None = MAX_VALUES,
                 key: Callable[[Any], Any] = none_last):
        self.values: dict[Hashable, Any] = {}
        self.name, self.max_size, self.key = name, max_size, key
        self.overflow = False

    def add(self, value: Any) -> None:
        values = self.values
        # As the original, the cap is checked per value, not per element: a
        # list is taken whole while the set is below the cap
        if self.max_size is not None and len(values) >= self.max_size:
            items = value if isinstance(value, list) else [value]
            if not self.overflow and any(_frozen(i) not in values for i in items):
                self.overflow = True
                log.warning('Field %r has more than %d distinct values; further values '
                            'are dropped', self.name, self.max_size)
            return
        # Below the cap, the one copy of the hot loop
        self.add_all((value,))

    def add_all(self, column: Sequence[Any]) -> None:
        # The hot loop of a fold, `add` inlined for as long as the cap is not
        # reached (most fields never reach it)
        values, cap = self.values, self.max_size
        for n, value in enumerate(column):
            if cap is not None and len(values) >= cap:
                for rest in column[n:]:
                    self.add(rest)
                return
            if isinstance(value, list):
                for item in value:
                    key = _canonical(item) if isinstance(item, _CONTAINERS) else item
                    if key not in values:
                        values[key] = item
            else:
                key = _canonical(value) if isinstance(value, dict) else value
                if key not in values:
                    values[key] = value

    def get(self) -> list[Any]:
        try:
            return sorted(self.values.values(), key=self.key)
        except TypeError:
            # Values of mixed types: order them by their JSON text
            return sorted(self.values.values(), key=lambda v: (v is None, _canonical(v)))


class CountAccumulator(SetAccumulator):
    """The number of distinct values (e.g. donors), uncapped as the original's."""

    def __init__(self, name: str = '', max_size: int | None = None,
                 key: Callable[[Any], Any] = none_last):
        super().__init__(name, max_size, key)

    def get(self) -> int:
        return len(self.values)


class MinAccumulator(Accumulator):
    def __init__(self, name: str = ''):
        self.value = None

    def add(self, value: Any) -> None:
        if value is not None and (self.value is None or value < self.value):
            self.value = value

    def get(self) -> Any:
        return self.value


class MaxAccumulator(MinAccumulator):
    def add(self, value: Any) -> None:
        if value is not None and (self.value is None or value > self.value):
            self.value = value


class DistinctSumAccumulator(Accumulator):
    """Sums `(key, value)` pairs, counting each key once (a file's size, say)."""

    def __init__(self, name: str = ''):
        self.keys: set[Hashable] = set()
        self.value = None

    def add(self, pair: Any) -> None:
        key, value = pair
        if isinstance(key, _CONTAINERS):
            key = _canonical(key)
        if key not in self.keys:
            self.keys.add(key)
            if value is not None:
                self.value = value if self.value is None else self.value + value

    def get(self) -> Any:
        return self.value


class SingleValueAccumulator(Accumulator):
    """The one value of a group (its key): the first one seen."""

    def __init__(self, name: str = ''):
        self.value = None

    def add(self, value: Any) -> None:
        if self.value is None:
            self.value = value

    def get(self) -> Any:
        return self.value


class FrequencyAccumulator(Accumulator):
    """The most frequent values, from values or dicts of value to count."""

    def __init__(self, name: str = '', max_size: int = MAX_VALUES):
        self.counter: Counter = Counter()
        self.max_size = max_size

    def add(self, value: Any) -> None:
        if isinstance(value, dict | list):
            self.counter.update(value)
        else:
            self.counter[value] += 1

    def get(self) -> list[Any]:
        return [item for item, _ in self.counter.most_common(self.max_size)]


class FirstByKeyAccumulator(Accumulator):
    """Whole dicts, the first one per key, in the order seen."""

    def __init__(self, name: str = '', key: str = 'uuid'):
        self.key = key
        self.values: dict[Any, Any] = {}

    def add(self, value: Any) -> None:
        for item in value if isinstance(value, list) else [value]:
            self.values.setdefault(item.get(self.key), item)

    def get(self) -> list[Any]:
        return list(self.values.values())


# A field's accumulator from the field's name, or None to drop the field
Factory = Callable[[str], Accumulator] | None


def _fold(entities: Sequence[Mapping[str, Any]], factory: Callable[[str], Factory]) -> dict:
    # Field by field: each field's values go to its accumulator in one call,
    # in the order of the entities (the order the accumulators depend on);
    # fields keep the order in which they were first seen
    columns: dict[str, list[Any]] = {}
    for entity in entities:
        for field, value in entity.items():
            column = columns.get(field)
            if column is None:
                columns[field] = [value]
            else:
                column.append(value)
    result = {}
    for field, column in columns.items():
        make = factory(field)
        if make is not None:
            accumulator = make(field)
            accumulator.add_all(column)
            result[field] = accumulator.get()
    return result


class InnerAggregator(ABC):
    """Folds the inner entities of one type into the aggregate's list of them."""

    @abstractmethod
    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The folded entities; `entities` (a contribution's own list) stays as it is."""


@attrs.frozen
class SimpleAggregator(InnerAggregator):
    """
    All entities into one dict. `fields` maps a field to its accumulator
    factory (None drops the field); others get `default`. `transform`
    reshapes each entity first.
    """
    fields: Mapping[str, Factory] = attrs.field(factory=dict)
    default: Factory = SetAccumulator
    transform: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None

    def _factory(self, field: str) -> Factory:
        return self.fields[field] if field in self.fields else self.default

    def _prepared(self, entities: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return list(entities) if self.transform is None else [self.transform(e) for e in entities]

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if not entities:
            return []
        return [_fold(self._prepared(entities), self._factory)]


@attrs.frozen
class GroupingAggregator(SimpleAggregator):
    """One dict per group (`group` of the prepared entity), groups in the order first seen."""
    group: Callable[[Mapping[str, Any]], Hashable] = lambda e: None

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        groups: dict[Hashable, list[Mapping[str, Any]]] = {}
        for entity in self._prepared(entities):
            groups.setdefault(self.group(entity), []).append(entity)
        return [_fold(group, self._factory) for group in groups.values()]


@attrs.frozen
class KeepWhole(InnerAggregator):
    """The entities as contributed, e.g. the file itself in a files aggregate."""

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [dict(entity) for entity in entities]


_DEFAULT = SimpleAggregator()


class _FoldMemo:
    """
    The inner aggregates of the entity lists folded so far, by the identity of
    the aggregator and of each entity: an aggregator is a pure function of
    the entities, so the very same objects fold to the same result. A
    transform hands every contribution of a bundle the same object for one
    inner entity (its project, donors, samples, protocols), and contributions
    read back together share them (see `azul.backends.duckdb.contributions`),
    so that across the aggregates of a reindex most inner entity lists repeat.
    Equal lists of distinct objects are folded anew: telling them equal would
    cost about what folding them does.

    Entries hold the objects their key names, so that no id in a key can be
    taken by another object while the entry lives. Results are shared by the
    aggregates that fold the same entities: nothing may change an aggregate's
    contents in place (nothing does: they are serialized and projected).
    """

    def __init__(self, size: int):
        self.size = size
        self.entries: dict[tuple, tuple[InnerAggregator, list, list]] = {}

    def aggregate(self, aggregator: InnerAggregator,
                  entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        key = (id(aggregator), *map(id, entities))
        entry = self.entries.get(key)
        if entry is None:
            if len(self.entries) >= self.size:
                # Bounded memory; the entities of one bundle's aggregates
                # are mostly folded close together
                self.entries.clear()
            entry = (aggregator, list(entities), aggregator.aggregate(entities))
            self.entries[key] = entry
        # A list of its own per aggregate: the dicts in it are shared
        return list(entry[2])


_memo: ContextVar[_FoldMemo | None] = ContextVar('fold_memo', default=None)

# Entity lists a memo holds at most
MEMO_SIZE = 20_000


@contextmanager
def shared_folds(size: int = MEMO_SIZE) -> Iterator[None]:
    """
    Within the block (in this thread), `aggregate` folds an inner entity type's
    list of the very same entity objects once (see `_FoldMemo`). The
    aggregates are the same as without; the contributions must not change
    while it lasts. Within an enclosing block, that block's memo serves.
    """
    if _memo.get() is not None:
        yield
        return
    token = _memo.set(_FoldMemo(size))
    try:
        yield
    finally:
        _memo.reset(token)


def live_contributions(contributions: Iterable[Contribution]) -> list[Contribution]:
    """Steps 1 and 2: the newest contribution per bundle uuid, minus deletions."""
    newest: dict[str, Contribution] = {}
    for c in contributions:
        current = newest.get(c.bundle.uuid)
        # At equal versions a deletion wins over an addition, whatever the order
        if (current is None or c.bundle.version > current.bundle.version
                or (c.bundle.version == current.bundle.version and c.deleted)):
            newest[c.bundle.uuid] = c
    return sorted((c for c in newest.values() if not c.deleted), key=lambda c: c.bundle)


def aggregate(entity_type: str,
              entity_id: str,
              contributions: Iterable[Contribution],
              aggregators: Mapping[str, InnerAggregator]) -> Aggregate | None:
    """
    The aggregate of one entity, or None if no live contribution remains.
    Inner entity types without an aggregator are folded with a default
    `SimpleAggregator`.
    """
    live = live_contributions(contributions)
    if not live:
        return None
    # Step 3: of the copies of one inner entity in several bundles, the one
    # from the newest bundle version wins; at equal versions the first one
    # seen (contributions are ordered by bundle) is kept. Entities keep the
    # order in which they were first seen: some lists are shown as they are.
    # A single contribution is taken as it is, as in the original (its lists
    # too: no aggregator changes the entities it is given).
    if len(live) == 1:
        reconciled = live[0].contents
    else:
        by_type: dict[str, dict[str, tuple[BundleFQID, Mapping[str, Any]]]] = {}
        for c in live:
            for inner_type, entities in c.contents.items():
                chosen = by_type.setdefault(inner_type, {})
                for entity in entities:
                    doc_id = entity.get('document_id') or _canonical(entity)
                    previous = chosen.get(doc_id)
                    if previous is None or c.bundle.version > previous[0].version:
                        chosen[doc_id] = (c.bundle, entity)
        reconciled = {t: [entity for _, entity in chosen.values()]
                      for t, chosen in by_type.items()}
    contents = {}
    memo = _memo.get()
    for inner_type, entities in sorted(reconciled.items()):
        aggregator = aggregators.get(inner_type, _DEFAULT)
        if memo is None or aggregator.__class__ is KeepWhole:
            contents[inner_type] = aggregator.aggregate(entities)
        else:
            contents[inner_type] = memo.aggregate(aggregator, entities)
    bundles = tuple(c.bundle for c in live)
    sources = tuple(sorted({c.source for c in live}))
    return Aggregate(entity_type=entity_type,
                     entity_id=entity_id,
                     contents=contents,
                     bundles=bundles,
                     sources=sources,
                     num_contributions=len(live))
