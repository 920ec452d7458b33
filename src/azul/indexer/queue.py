"""
The Queue interface between indexer stages, and its local implementation.

Semantics are those of SQS standard queues, so that code tested locally
behaves the same on AWS: at-least-once delivery, a visibility timeout after
which an unacknowledged message is delivered again, and a fail queue for
messages that failed `max_attempts` times. The local queue is a SQLite file,
so pending work survives a restart of the process.
"""
import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

# The two queues between indexer stages, each with its fail queue
NOTIFICATIONS = 'notifications'
TALLIES = 'tallies'
QUEUES = (NOTIFICATIONS, TALLIES)

# Deliveries of one message before it moves to the fail queue
MAX_ATTEMPTS = 5

# Seconds a received message stays invisible before it is delivered again
VISIBILITY_TIMEOUT = 300


@attrs.frozen
class Message:
    id: str
    queue: str
    body: Mapping[str, Any]
    attempts: int


class Queue(ABC):

    @abstractmethod
    def send(self, queue: str, bodies: Sequence[Mapping[str, Any]]) -> None: ...

    @abstractmethod
    def receive(self, queue: str, max_messages: int = 10,
                visibility_timeout: float = VISIBILITY_TIMEOUT) -> list[Message]:
        """Up to `max_messages` visible messages, made invisible for a while."""

    @abstractmethod
    def delete(self, message: Message) -> None:
        """Acknowledge: the message was processed."""

    @abstractmethod
    def release(self, message: Message, delay: float = 0) -> None:
        """
        Processing failed: deliver again after `delay` seconds, or move it to
        the fail queue once it has been delivered `MAX_ATTEMPTS` times.
        """

    @abstractmethod
    def counts(self) -> dict[str, dict[str, int]]:
        """Per queue: messages `queued` (incl. in flight) and `failed`."""

    # The fail queues, for operators (`azul queues`): what failed, and what to
    # do with it once the cause is fixed

    @abstractmethod
    def failed(self, queue: str, limit: int) -> list[Mapping[str, Any]]:
        """Bodies of up to `limit` failed messages, left where they are."""

    @abstractmethod
    def redrive(self, queue: str) -> int:
        """Move every failed message back, for `MAX_ATTEMPTS` more deliveries."""

    @abstractmethod
    def purge_failed(self, queue: str) -> int:
        """Drop every failed message."""


class LocalQueue(Queue):
    """A durable queue in one SQLite file, safe across threads of one process."""

    def __init__(self, path: Path | str, max_attempts: int = MAX_ATTEMPTS):
        self.path = str(path)
        if self.path != ':memory:':
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        # One connection guarded by a lock: SQLite serializes writers anyway,
        # and the queue is far from being the bottleneck of indexing.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute('PRAGMA journal_mode=WAL')
        self._db.execute('PRAGMA synchronous=NORMAL')
        self._db.execute('''
            CREATE TABLE IF NOT EXISTS messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                queue TEXT NOT NULL,
                body TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                visible_at REAL NOT NULL,
                failed INTEGER NOT NULL DEFAULT 0,
                -- 1 while waiting out a release() delay, 0 while in flight
                released INTEGER NOT NULL DEFAULT 0
            )''')
        columns = {row[1] for row in self._db.execute('PRAGMA table_info(messages)')}
        if 'released' not in columns:
            # A queue file from before the column existed
            self._db.execute('ALTER TABLE messages ADD COLUMN released INTEGER NOT NULL DEFAULT 0')
        self._db.execute('CREATE INDEX IF NOT EXISTS messages_visible '
                         'ON messages (queue, failed, visible_at)')

    def send(self, queue: str, bodies: Sequence[Mapping[str, Any]]) -> None:
        now = time.time()
        with self._lock:
            self._db.executemany('INSERT INTO messages (queue, body, visible_at) VALUES (?, ?, ?)',
                                 [(queue, json.dumps(b), now) for b in bodies])

    def receive(self, queue: str, max_messages: int = 10,
                visibility_timeout: float = VISIBILITY_TIMEOUT) -> list[Message]:
        now = time.time()
        with self._lock:
            # Like SQS's redrive policy, count receives: a message whose
            # processing crashes the process or outlives its visibility
            # timeout fails too, not only one that is released
            self._db.execute('UPDATE messages SET failed = 1 WHERE queue = ? AND failed = 0 '
                             'AND visible_at <= ? AND attempts >= ?',
                             (queue, now, self.max_attempts))
            rows = self._db.execute('''
                UPDATE messages SET visible_at = ?, attempts = attempts + 1, released = 0
                WHERE id IN (SELECT id FROM messages
                             WHERE queue = ? AND failed = 0 AND visible_at <= ?
                             ORDER BY id LIMIT ?)
                RETURNING id, queue, body, attempts
            ''', (now + visibility_timeout, queue, now, max_messages)).fetchall()
        return [Message(str(i), q, json.loads(b), a) for i, q, b, a in sorted(rows)]

    def delete(self, message: Message) -> None:
        with self._lock:
            self._db.execute('DELETE FROM messages WHERE id = ?', (int(message.id),))

    def release(self, message: Message, delay: float = 0) -> None:
        with self._lock:
            self._db.execute('UPDATE messages SET visible_at = ?, failed = (attempts >= ?), '
                             'released = 1 WHERE id = ?', (time.time() + delay, self.max_attempts,
                                              int(message.id)))

    def recover(self) -> int:
        """
        Make messages in flight visible again. Only one process consumes a
        local queue, so at its start anything in flight was interrupted by a
        crash or a stop and must not wait out its visibility timeout.
        """
        with self._lock:
            # Released messages keep their back-off delay
            return self._db.execute('UPDATE messages SET visible_at = ? WHERE failed = 0 '
                                    'AND released = 0 AND visible_at > ?',
                                    (time.time(), time.time())).rowcount

    def failed(self, queue: str, limit: int) -> list[Mapping[str, Any]]:
        with self._lock:
            rows = self._db.execute('SELECT body FROM messages WHERE queue = ? AND failed = 1 '
                                    'ORDER BY id LIMIT ?', (queue, limit)).fetchall()
        return [json.loads(body) for (body,) in rows]

    def purge_failed(self, queue: str) -> int:
        with self._lock:
            return self._db.execute('DELETE FROM messages WHERE queue = ? AND failed = 1',
                                    (queue,)).rowcount

    def redrive(self, queue: str) -> int:
        with self._lock:
            cursor = self._db.execute('UPDATE messages SET failed = 0, attempts = 0, '
                                      'visible_at = ? WHERE queue = ? AND failed = 1',
                                      (time.time(), queue))
            return cursor.rowcount

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            rows = self._db.execute('SELECT queue, failed, count(*) FROM messages '
                                    'GROUP BY queue, failed').fetchall()
        result: dict[str, dict[str, int]] = {}
        for queue, failed, n in rows:
            result.setdefault(queue, {'queued': 0, 'failed': 0})
            result[queue]['failed' if failed else 'queued'] += n
        return result

    def catalog_counts(self, catalog: str) -> dict[str, dict[str, int]]:
        """Like `counts()`, of the messages whose body names `catalog` only."""
        with self._lock:
            rows = self._db.execute("SELECT queue, failed, count(*) FROM messages "
                                    "WHERE json_extract(body, '$.catalog') = ? "
                                    "GROUP BY queue, failed", (catalog,)).fetchall()
        result: dict[str, dict[str, int]] = {}
        for queue, failed, n in rows:
            result.setdefault(queue, {'queued': 0, 'failed': 0})
            result[queue]['failed' if failed else 'queued'] += n
        return result

    def close(self) -> None:
        with self._lock:
            self._db.close()
