"""
The SQS queues of the selected deployment (`_select <name>`): message counts,
the failed messages as JSON lines (to stdout or a file), feeding the fail
queues back once the cause of the failures is fixed, or dropping them.

A thin front of `azul queues`, which does the work on whatever queue is
configured: this script only insists that it is SQS, so that an operator who
forgot to select a deployment does not act on the local queue unawares.

    python scripts/manage_queues.py list
    python scripts/manage_queues.py dump --queue tallies --out failed.jsonl
    python scripts/manage_queues.py redrive --queue notifications
    python scripts/manage_queues.py purge
"""
import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from azul import envfiles
from azul.adapters import cli
from azul.indexer.queue import QUEUES

VERBS = {
    'list': 'messages queued and failed, per queue',
    'dump': 'the failed messages as JSON lines',
    'redrive': 'feed the failed messages back to their queue, for more deliveries',
    'purge': 'drop the failed messages',
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('action', choices=tuple(VERBS),
                        help='; '.join(f'{k}: {v}' for k, v in VERBS.items()))
    parser.add_argument('--queue', choices=QUEUES, help='one queue (default: all)')
    parser.add_argument('--limit', type=int, default=1000,
                        help='dump: messages per queue (default 1000)')
    parser.add_argument('--out', help='dump: write to this file instead of stdout')
    args = parser.parse_args(argv)
    envfiles.load(os.environ)
    queue = os.environ.get('AZUL_QUEUE')
    if queue != 'sqs':
        print(f'manage_queues: AZUL_QUEUE is {queue!r}, not `sqs`: select a deployment on '
              f'AWS first (`_select dev`), or use `azul queues` for the local queue',
              file=sys.stderr)
        return 2
    forwarded = ['queues', args.action, '--limit', str(args.limit)]
    if args.queue:
        forwarded += ['--queue', args.queue]
    if args.out is None:
        return cli.main(forwarded)
    with open(args.out, 'w') as f, contextlib.redirect_stdout(f):
        return cli.main(forwarded)


if __name__ == '__main__':
    sys.exit(main())
