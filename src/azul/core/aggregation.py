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
"""
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import orjson

from azul.core.documents import Aggregate, BundleFQID, Contribution

log = logging.getLogger(__name__)

# Caps the number of distinct values one accumulator keeps for one field of one
# aggregate, so that a project of a million files cannot make a document too big
# to index. Hitting it is logged with the field name.
MAX_DISTINCT_VALUES = 1000


def value_key(value: Any) -> tuple:
    """A total order over JSON values: nulls last, then by type, then by value."""
    if value is None:
        return (1, 0, '')
    elif isinstance(value, bool):
        return (0, 0, value)
    elif isinstance(value, int | float):
        return (0, 1, value)
    elif isinstance(value, str):
        return (0, 2, value)
    else:
        return (0, 3, _canonical(value))


_scalars = frozenset({str, int, float, bool, type(None)})


def _canonical(value: Any) -> str:
    # Equal JSON values must give equal keys, whatever their key order
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _hashable(value: Any) -> Any:
    return _canonical(value) if isinstance(value, dict | list) else value


class Accumulator(ABC):
    @abstractmethod
    def accumulate(self, value: Any) -> None: ...

    def accumulate_all(self, values: list[Any]) -> None:
        """Accumulate each of `values`, already flattened one level."""
        for value in values:
            self.accumulate(value)

    @abstractmethod
    def get(self) -> Any: ...


class SetAccumulator(Accumulator):
    """Distinct values, sorted, null last. Lists are accumulated element-wise."""

    def __init__(self, name: str = '', max_size: int = MAX_DISTINCT_VALUES):
        self.name = name
        self.max_size = max_size
        self.values: dict[Any, Any] = {}
        self.overflow = False

    def accumulate(self, value: Any) -> None:
        values = self.values
        for v in value if value.__class__ is list else (value,):
            # Scalars are their own keys; this runs for every value of every
            # inner entity, so the common case avoids any function call.
            key = v if v.__class__ in _scalars else _hashable(v)
            if key not in values:
                if len(values) < self.max_size:
                    values[key] = v
                elif not self.overflow:
                    self.overflow = True
                    log.warning('Field %r exceeds MAX_DISTINCT_VALUES (%d); further values '
                                'are dropped', self.name, self.max_size)

    def accumulate_all(self, values: list[Any]) -> None:
        if not self.overflow:
            # The common case: hashable values only, well under the cap. Dicts
            # (e.g. organism ages) are unhashable and take the slow path.
            try:
                fresh = dict.fromkeys(values)
            except TypeError:
                pass
            else:
                if len(self.values) + len(fresh) <= self.max_size:
                    if self.values:
                        for v in fresh:
                            self.values.setdefault(v, v)
                    else:
                        self.values = {v: v for v in fresh}
                    return
        for v in values:
            self.accumulate(v)

    def get(self) -> list[Any]:
        values = list(self.values.values())
        if len(values) > 1:
            classes = {v.__class__ for v in values}
            if len(classes) == 1 and classes <= {str, int, float}:
                values.sort()
            else:
                values.sort(key=value_key)
        return values


class SumAccumulator(Accumulator):
    def __init__(self, name: str = ''):
        self.total = None

    def accumulate(self, value: Any) -> None:
        for v in value if isinstance(value, list) else (value,):
            if v is not None:
                self.total = v if self.total is None else self.total + v

    def get(self) -> Any:
        return self.total


class _ExtremeAccumulator(Accumulator):
    pick: Callable = min

    def __init__(self, name: str = ''):
        self.value = None

    def accumulate(self, value: Any) -> None:
        for v in value if isinstance(value, list) else (value,):
            if v is not None:
                self.value = v if self.value is None else type(self).pick(self.value, v)

    def get(self) -> Any:
        return self.value


class MinAccumulator(_ExtremeAccumulator):
    pick = min


class MaxAccumulator(_ExtremeAccumulator):
    pick = max


class DistinctCountAccumulator(Accumulator):
    """Number of distinct non-null values (e.g. donor count)."""

    def __init__(self, name: str = ''):
        self.values = set()

    def accumulate(self, value: Any) -> None:
        for v in value if isinstance(value, list) else (value,):
            if v is not None:
                self.values.add(_hashable(v))

    def get(self) -> int:
        return len(self.values)


AccumulatorFactory = Callable[[str], Accumulator]


class InnerAggregator(ABC):
    """Folds the inner entities of one type into the aggregate's list of them."""

    @abstractmethod
    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]: ...


@attrs.frozen
class SimpleAggregator(InnerAggregator):
    """
    All entities into one dict. Fields not in `accumulators` use `default`;
    fields in `skip` are dropped.
    """
    accumulators: Mapping[str, AccumulatorFactory] = attrs.field(factory=dict)
    default: AccumulatorFactory | None = SetAccumulator
    skip: frozenset[str] = frozenset()

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if not entities:
            return []
        return [_fold(entities, self.accumulators, self.default, self.skip)]


@attrs.frozen
class GroupingAggregator(InnerAggregator):
    """One dict per distinct value of `group_by` (e.g. file format)."""
    group_by: str
    accumulators: Mapping[str, AccumulatorFactory] = attrs.field(factory=dict)
    default: AccumulatorFactory | None = SetAccumulator
    skip: frozenset[str] = frozenset()

    def aggregate(self, entities: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        groups: dict[Any, list[Mapping[str, Any]]] = {}
        for entity in entities:
            groups.setdefault(_hashable(entity.get(self.group_by)), []).append(entity)
        result = [_fold(group, self.accumulators, self.default, self.skip)
                  for _, group in sorted(groups.items(), key=lambda kv: value_key(kv[0]))]
        return result


def _fold(entities: Sequence[Mapping[str, Any]],
          accumulators: Mapping[str, AccumulatorFactory],
          default: AccumulatorFactory | None,
          skip: frozenset[str]) -> dict[str, Any]:
    # Collect each field's values first and hand them over in one call: this
    # is the indexer's innermost loop, run for every field of every entity.
    collected: dict[str, list[Any]] = {}
    for entity in entities:
        for key, value in entity.items():
            values = collected.get(key)
            if values is None:
                values = collected[key] = []
            if value.__class__ is list:
                values.extend(value)
            else:
                values.append(value)
    result = {}
    for key, values in collected.items():
        if key in skip:
            continue
        factory = accumulators.get(key, default)
        if factory is None:
            continue
        accumulator = factory(key)
        accumulator.accumulate_all(values)
        result[key] = accumulator.get()
    return result


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
    # A single contribution is taken as it is, as in the original.
    if len(live) == 1:
        reconciled = {t: list(es) for t, es in live[0].contents.items()}
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
    for inner_type, entities in sorted(reconciled.items()):
        aggregator = aggregators.get(inner_type, SimpleAggregator())
        contents[inner_type] = aggregator.aggregate(entities)
    bundles = tuple(c.bundle for c in live)
    sources = tuple(sorted({c.source for c in live}))
    return Aggregate(entity_type=entity_type,
                     entity_id=entity_id,
                     contents=contents,
                     bundles=bundles,
                     sources=sources,
                     num_contributions=len(live))
