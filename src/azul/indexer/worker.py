"""
Work on the indexer queues: notifications become contributions and tallies,
tallies become aggregates. Used by the local server's worker thread and, on
AWS, by the SQS-triggered Lambda handlers; the same code either way.
"""
import logging
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from azul import collector
from azul.backends.base import Replica
from azul.core.aggregation import shared_folds
from azul.core.documents import BundleFQID, Contribution, normalize_version, validate_uuid
from azul.core.fields import shared_projections
from azul.errors import AzulError, BadRequestError, ServiceUnavailableError
from azul.indexer.index import Indexer, Tally
from azul.indexer.live_pool import LivePool, PooledIndexer, Transformed
from azul.indexer.queue import NOTIFICATIONS, TALLIES, Message, Queue
from azul.runtime import Runtime

log = logging.getLogger(__name__)


# Entity ids per tally message; one message is aggregated in one batch
TALLY_CHUNK = 100

# Messages handled per round of the worker: each round costs a search of the
# contribution tables for the upserts and a fold of every touched entity (a
# project's hundreds of contributions), whatever its size, so a busy worker
# takes large rounds; an idle one handles each message as it comes
NOTIFICATION_BATCH = 500
TALLY_BATCH = 500

# Entries of a round's memos of folds and of projections: a round of 500
# bundles folds some 4,700 aggregates of about 14 inner entity lists each
ROUND_MEMO_SIZE = 100_000

ACTIONS = ('add', 'delete')


def parse_notification(runtime: Runtime, catalog: str, action: str,
                       body: Any) -> dict[str, str]:
    """
    Validate a notification (the body of POST /{catalog}/{action}) into a
    queue message, or raise BadRequestError naming the problem.
    """
    catalog_obj = runtime.catalog(catalog)
    if action not in ACTIONS:
        raise BadRequestError(f'Unknown action {action!r}; expected one of: add, delete')
    if not isinstance(body, Mapping):
        raise BadRequestError('The request body must be a JSON object')
    extra = set(body) - {'bundle_fqid'}
    if extra:
        raise BadRequestError(f'Unexpected properties in the request body: {sorted(extra)}')
    fqid = body.get('bundle_fqid')
    if not isinstance(fqid, Mapping):
        raise BadRequestError('The request body lacks the object `bundle_fqid`')
    extra = set(fqid) - {'uuid', 'version', 'source'}
    if extra:
        raise BadRequestError(f'Unexpected properties in `bundle_fqid`: {sorted(extra)}')
    uuid = validate_uuid(fqid.get('uuid'), 'bundle_fqid.uuid')
    version = fqid.get('version')
    if not isinstance(version, str) or not version:
        raise BadRequestError('`bundle_fqid.version` must be a non-empty string')
    version = normalize_version(version)
    source = fqid.get('source')
    if not isinstance(source, Mapping) or not isinstance(source.get('spec'), str):
        raise BadRequestError('`bundle_fqid.source` must be an object with a string `spec`')
    spec = source['spec']
    if spec not in catalog_obj.sources:
        raise BadRequestError(f'Source {spec!r} is not a source of catalog {catalog_obj.name!r}; '
                              f'its sources are: {", ".join(catalog_obj.sources)}')
    return {'catalog': catalog_obj.name, 'action': action, 'source': spec,
            'uuid': uuid, 'version': version}


def retry_delay(attempts: int, transient: bool) -> float:
    """
    Seconds before a failed message is delivered again. A backend that is down
    (or an unexpected fault) gets 10, 30, 90 and 270 seconds, so that the
    `MAX_ATTEMPTS` deliveries of a message span about seven minutes, long
    enough for a cluster to restart, before it goes to the fail queue (`azul
    queues redrive` brings it back after longer outages). A message the
    backend refused for cause (a bundle that does not exist, bad input) fails
    faster: 2, 4, 8 and 16 seconds.
    """
    if transient:
        return min(10 * 3 ** (attempts - 1), 600)
    return min(2 ** attempts, 60)


class Worker:
    """
    Handles the queues' messages in rounds (`process_once`). With a pool
    (`azul.indexer.live_pool`, local servers only), the pool's processes
    transform a round's bundles while this one aggregates the tallies of the
    rounds before, and fold the entities of large aggregations; this process
    alone reads, writes and acknowledges.
    """

    def __init__(self, runtime: Runtime, queue: Queue, pool: LivePool | None = None):
        self.runtime = runtime
        self.queue = queue
        self.pool = pool
        self.indexer = Indexer(runtime) if pool is None else PooledIndexer(runtime, pool)
        self._created: set[str] = set()

    def close(self) -> None:
        """Stop the pool's processes, if any."""
        if self.pool is not None:
            self.pool.close()

    def _ensure_indices(self, catalog: str) -> None:
        if catalog not in self._created:
            self.indexer.create_indices(catalog)
            self._created.add(catalog)

    def contribute(self, body: Mapping[str, Any]) -> None:
        [error] = self.contribute_each([body])
        if error is not None:
            raise error

    def contribute_each(self, bodies: Sequence[Mapping[str, Any]]) -> list[Exception | None]:
        """
        Contribute the notifications' bundles together: each is fetched and
        transformed on its own, so that a bad one fails alone, but the
        replicas of all, then the contributions of all, are written in one
        round trip each, since a write costs a transaction and a search of
        the table whatever the batch's size. If a batch's write fails for
        cause, its bundles are written one by one, so that a bundle the
        backend refuses cannot hold back the others. Returns each
        notification's error, or None.
        """
        return self._write_each(bodies, [self._transform(body) for body in bodies])

    def _transform(self, body: Mapping[str, Any]) -> Transformed | Exception:
        try:
            fqid = BundleFQID(body['uuid'], body['version'])
            return self.indexer.transform_bundle(body['catalog'], body['source'], fqid,
                                                 deleted=body['action'] == 'delete')
        except Exception as e:
            return e

    def _write_each(self, bodies: Sequence[Mapping[str, Any]],
                    transformed: Sequence[Transformed | Exception],
                    one_by_one: bool = False) -> list[Exception | None]:
        """
        Write the transformed bundles (see `contribute_each`), with
        `one_by_one` each on its own from the start; returns each one's error.
        """
        errors: list[Exception | None] = [None] * len(bodies)
        pending: dict[str, list[tuple[int, list[Contribution], list[Replica]]]] = defaultdict(list)
        for i, (body, result) in enumerate(zip(bodies, transformed, strict=True)):
            if isinstance(result, Exception):
                errors[i] = result
                continue
            try:
                catalog = body['catalog']
                self._ensure_indices(catalog)
            except Exception as e:
                errors[i] = e
            else:
                pending[catalog].append((i, *result))
        for catalog, items in pending.items():
            if not one_by_one or len(items) == 1:
                try:
                    self._write(catalog, items)
                except ServiceUnavailableError as e:
                    # One by one would only wait for the backend N times
                    for i, _, _ in items:
                        errors[i] = e
                    continue
                except Exception as e:
                    if len(items) == 1:
                        errors[items[0][0]] = e
                        continue
                    log.exception('Writing the contributions of %d bundles failed; '
                                  'retrying them one by one', len(items))
                else:
                    continue
            for item in items:
                try:
                    self._write(catalog, [item])
                except Exception as e:
                    errors[item[0]] = e
        return errors

    def _write(self, catalog: str, items: Sequence[tuple[int, list[Contribution], list[Replica]]]
               ) -> None:
        # Replicas first: manifests reach them only through the aggregates
        # that the contributions lead to, so a crash in between leaves
        # nothing half visible, and the re-delivery writes the same ids
        replicas = [r for _, _, rs in items for r in rs]
        if replicas:
            self.indexer.write_replicas(catalog, replicas)
        tally = self.indexer.write_contributions(catalog, [c for _, cs, _ in items for c in cs])
        # Tallies are sent before the notifications are acknowledged, so a
        # crash before the send leads to the notifications' re-delivery
        self.queue.send(TALLIES, [
            {'catalog': catalog, 'entity_type': entity_type,
             'entity_ids': ids[i:i + TALLY_CHUNK]}
            for entity_type, ids in tally.by_type().items()
            for i in range(0, len(ids), TALLY_CHUNK)
        ])

    def aggregate(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        # Tallies of many notifications often name the same entities (the
        # project of every bundle, say): merge them so each is folded once.
        merged: dict[str, Tally] = defaultdict(Tally)
        for body in bodies:
            for entity_id in body['entity_ids']:
                merged[body['catalog']].entities.add((body['entity_type'], entity_id))
        for catalog, tally in merged.items():
            self._ensure_indices(catalog)
            self.indexer.aggregate_tally(catalog, tally)

    def process_once(self, max_messages: int = NOTIFICATION_BATCH) -> int:
        """Handle one batch of each queue; returns the number of messages handled."""
        notifications = self.queue.receive(NOTIFICATIONS, max_messages)
        bodies = [m.body for m in notifications]
        if self.pool is None:
            if self.runtime.backend.transactional:
                return self._process_together(notifications)
            errors = self.contribute_each(bodies)
            return self._settle_each(notifications, errors) + self._aggregate_round()
        # The pool transforms this round's bundles while this process
        # aggregates what the rounds before wrote: the tallies this round
        # sends are aggregated by the next one, which follows at once
        pending = self.pool.transform(bodies) if bodies else None
        handled = self._aggregate_round()
        if pending is not None:
            handled += self._settle_each(notifications,
                                         self._write_each(bodies, pending.results()))
        return handled

    def _process_together(self, notifications: Sequence[Message]) -> int:
        """
        A round in one transaction of the backend: the replicas and
        contributions of the round's bundles, and the aggregates of the
        entities they touched and of those the tallies waiting in the queue
        name. The tallies of the round need not be sent: they are
        aggregated with the contributions that cause them, or not at all.
        One transaction costs one commit (and a checkpoint once in a while)
        where writing in steps costs one per step and entity type.

        A bundle whose transform fails fails alone, before the transaction.
        If the transaction fails, nothing of it was written: the backend
        being down fails the round; anything else (a bundle the backend
        refuses, say) has each bundle written on its own and its tallies
        sent, then the tallies aggregated, as without a transaction, so that
        only what the backend refuses fails. Messages are acknowledged only
        once what they caused is committed, so that a process that dies
        within loses nothing.
        """
        tallies = self.queue.receive(TALLIES, TALLY_BATCH)
        if not notifications and not tallies:
            return 0
        # A round of 500 bundles holds their contributions, the folds and
        # the aggregates: the collector's full passes over that heap took a
        # fifth of the round's CPU
        with collector.paused():
            return self._round(notifications, tallies)

    def _round(self, notifications: Sequence[Message], tallies: Sequence[Message]) -> int:
        bodies = [m.body for m in notifications]
        transformed = [self._transform(body) for body in bodies]
        errors = [result if isinstance(result, Exception) else None for result in transformed]
        try:
            self._write_together(bodies, transformed, [m.body for m in tallies])
        except ServiceUnavailableError as e:
            # In steps would only wait for the backend again
            log.warning('The backend is unavailable: %s', e)
            errors = [error or e for error in errors]
            for message in tallies:
                self.queue.release(message, delay=retry_delay(message.attempts, transient=True))
            return self._settle_each(notifications, errors) + len(tallies)
        except Exception:
            # The round was one transaction: a bundle that failed it is written alone
            log.exception('Writing a round of %d notification(s) and %d tally(ies) in one '
                          'transaction failed; writing each bundle on its own',
                          len(bodies), len(tallies))
            errors = self._write_each(bodies, transformed, one_by_one=True)
            return self._settle_each(notifications, errors) + self._aggregate_round(tallies)
        handled = self._settle_each(notifications, errors)
        for message in tallies:
            self.queue.delete(message)
        return handled + len(tallies)

    def _write_together(self, bodies: Sequence[Mapping[str, Any]],
                        transformed: Sequence[Transformed | Exception],
                        tallies: Sequence[Mapping[str, Any]]) -> None:
        pending: dict[str, list[Transformed]] = defaultdict(list)
        for body, result in zip(bodies, transformed, strict=True):
            if not isinstance(result, Exception):
                pending[body['catalog']].append(result)
        merged: dict[str, Tally] = defaultdict(Tally)
        for body in tallies:
            merged[body['catalog']].entities.update(
                (body['entity_type'], entity_id) for entity_id in body['entity_ids'])
        for catalog in {*pending, *merged}:
            self._ensure_indices(catalog)
        # One memo of folds and projections for the round: the aggregates
        # of a bundle's files fold the very same inner entities (its project,
        # samples, donors), but their ids fall into different batches
        with (self.runtime.backend.transaction(), shared_folds(ROUND_MEMO_SIZE),
              shared_projections(ROUND_MEMO_SIZE)):
            for catalog, results in pending.items():
                self.indexer.write_replicas(catalog, [r for _, rs in results for r in rs])
                merged[catalog].merge(self.indexer.write_contributions(
                    catalog, [c for cs, _ in results for c in cs]))
            for catalog, tally in merged.items():
                self.indexer.aggregate_tally(catalog, tally)

    def _aggregate_round(self, received: Sequence[Message] = ()) -> int:
        tallies = [*received, *self.queue.receive(TALLIES, TALLY_BATCH - len(received))]
        results = self.aggregate_each([m.body for m in tallies])
        for message, ok in zip(tallies, results, strict=True):
            if ok:
                self.queue.delete(message)
            else:
                self.queue.release(message, delay=retry_delay(message.attempts, transient=True))
        return len(tallies)

    def _settle_each(self, messages: Sequence[Message],
                     errors: Sequence[Exception | None]) -> int:
        return sum(self._settle(message, error)
                   for message, error in zip(messages, errors, strict=True))

    def aggregate_each(self, bodies: Sequence[Mapping[str, Any]]) -> list[bool]:
        """
        Aggregate the tallies together; if that fails, one by one, so that one
        bad tally cannot hold back the others. Returns which succeeded.
        """
        if not bodies:
            return []
        try:
            self.aggregate(bodies)
        except Exception:
            log.exception('Aggregating %d tallies failed; retrying individually', len(bodies))
        else:
            return [True] * len(bodies)
        results = []
        for body in bodies:
            try:
                self.aggregate([body])
            except Exception:
                log.exception('Tally %r failed', body)
                results.append(False)
            else:
                results.append(True)
        return results

    def _settle(self, message: Message, error: Exception | None) -> bool:
        """Delete a handled message; release a failed one for a later attempt."""
        if error is None:
            self.queue.delete(message)
            return True
        if isinstance(error, AzulError):
            log.warning('Message %s failed (attempt %d): %s', message.id, message.attempts, error)
            transient = isinstance(error, ServiceUnavailableError)
        else:
            log.error('Message %s failed (attempt %d)', message.id, message.attempts,
                      exc_info=error)
            transient = True
        self.queue.release(message, delay=retry_delay(message.attempts, transient))
        return False

    def run(self, stop: threading.Event, idle_wait: float = 0.2) -> None:
        while not stop.is_set():
            try:
                handled = self.process_once()
            except Exception:
                # e.g. the backend is down: keep the worker alive, retry later
                log.exception('Indexer worker iteration failed')
                handled = 0
            if not handled:
                stop.wait(idle_wait)
