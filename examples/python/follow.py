#!/usr/bin/env python3
"""Follow the change feed of the `metadata` extension and print each change as JSON.

The follower keeps the position (``seq``) of the last change it processed in a state file
and reads the feed with ``metadata.changes_since(seq, limit)``: the feed is dense and in
commit order, so "everything after my last seq" is exactly what it has not seen yet. The
NOTIFY on channel ``metadata_changes`` is only a doorbell that says "read the feed again";
it is never the source of the changes (and ``SET metadata.notify = off`` silences it, so
the follower also reads the feed every ``--poll`` seconds).

For every change visible to the session's tenant/user (row level security and
``changes_since`` decide), it prints one line of JSON to stdout::

    {"seq": 7, "op": "update", "type": "object", "name": "account", "scope": "platform",
     "effective": {...}}

where ``effective`` is ``metadata.effective(type, name)`` at the time of printing (null when
the item no longer exists or cannot be resolved), and then stores the seq (temp file +
rename). ``--types`` prints only those types (the others still advance the seq). After a lost
connection it reconnects with a backoff and resumes from its last seq: nothing is lost and,
within one run, nothing is printed twice. A crash between printing a line and storing its
seq prints that one change again on restart (at-least-once across crashes).

Usage::

    python follow.py --dsn "host=/tmp/dev port=54400 dbname=app user=app" \\
        --tenant acme --user alice --state-file /var/lib/follow/acme.seq [--types object,view]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time

import psycopg

CHANNEL = "metadata_changes"
APPLICATION_NAME = "metadata-follow"
PAGE_SIZE = 500
WAIT_SLICE = 1.0  # seconds per notifies() call, so that a stop request is seen quickly
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 5.0

stop_requested = threading.Event()


def log(message: str) -> None:
    """Write a diagnostic line to stderr (stdout carries only the JSON lines)."""
    print(f"follow: {message}", file=sys.stderr, flush=True)


def load_seq(path: str) -> int:
    """Return the last processed seq stored in the state file, or 0 when there is none."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
    except FileNotFoundError:
        return 0
    return int(text) if text else 0


def store_seq(path: str, seq: int) -> None:
    """Store seq atomically: write a temporary file next to the state file, then rename it."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".follow-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"{seq}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def connect(dsn: str, tenant: str | None, user: str | None) -> psycopg.Connection:
    """Open an autocommit session for tenant/user and LISTEN on the change channel.

    Autocommit matters: notifications are delivered between transactions only, and every
    replay should see the newest committed state.
    """
    conn = psycopg.connect(dsn, autocommit=True, application_name=APPLICATION_NAME)
    try:
        # Session-level settings (is_local => false); values go as parameters.
        conn.execute("SELECT set_config('metadata.tenant_id', %s, false)", (tenant or "",))
        conn.execute("SELECT set_config('metadata.user_id', %s, false)", (user or "",))
        conn.execute("LISTEN " + CHANNEL)  # a constant identifier, not a value
    except BaseException:
        conn.close()
        raise
    return conn


def effective_now(conn: psycopg.Connection, type_: str, name: str):
    """Return metadata.effective(type, name) now: a dict, or None when the item is gone.

    An item that cannot be resolved (e.g. 23503, its extends parent is missing) gives None
    and a line on stderr rather than stopping the follower; a lost connection propagates.
    """
    try:
        return conn.execute("SELECT metadata.effective(%s, %s)", (type_, name)).fetchone()[0]
    except psycopg.OperationalError:
        raise
    except psycopg.DatabaseError as e:
        log(f"effective({type_}, {name}) failed: {e.sqlstate} {str(e).strip().splitlines()[0]}")
        return None


def replay(conn: psycopg.Connection, last_seq: int, state_file: str,
           types: set[str] | None) -> int:
    """Print every change after last_seq, page by page until the feed is exhausted.

    Returns the new last seq. The seq is stored after each change, so an interruption
    (lost connection, stop request) resumes right after the last printed change.
    """
    while not stop_requested.is_set():
        rows = conn.execute(
            "SELECT seq, op, type, name, scope FROM metadata.changes_since(%s, %s)",
            (last_seq, PAGE_SIZE),
        ).fetchall()
        if not rows:
            return last_seq
        for seq, op, type_, name, scope in rows:
            if types is None or type_ in types:
                line = {"seq": seq, "op": op, "type": type_, "name": name, "scope": scope,
                        "effective": effective_now(conn, type_, name)}
                print(json.dumps(line), flush=True)
            last_seq = seq
            store_seq(state_file, last_seq)
            if stop_requested.is_set():
                break
    return last_seq


def wait_for_doorbell(conn: psycopg.Connection, last_seq: int, poll: float) -> None:
    """Block until a doorbell announces a seq beyond last_seq, poll seconds pass, or a stop
    is requested. The payload is only compared with last_seq; the changes come from the feed.
    """
    deadline = time.monotonic() + poll
    while not stop_requested.is_set() and time.monotonic() < deadline:
        for notify in conn.notifies(timeout=WAIT_SLICE, stop_after=1):
            try:
                announced = int(json.loads(notify.payload)["seq"])
            except (ValueError, KeyError, TypeError):
                return  # unexpected payload: read the feed anyway
            if announced > last_seq:
                return


def follow(args: argparse.Namespace) -> None:
    """Connect, replay, wait for doorbells; reconnect with a backoff after a lost connection."""
    types = set(args.types.split(",")) if args.types else None
    last_seq = load_seq(args.state_file)
    backoff = BACKOFF_FIRST
    log(f"starting after seq {last_seq}")
    while not stop_requested.is_set():
        conn = None
        try:
            conn = connect(args.dsn, args.tenant, args.user)
            backoff = BACKOFF_FIRST
            # LISTEN first, then read: a change committed meanwhile is either in this
            # replay or rings the doorbell afterwards.
            while not stop_requested.is_set():
                last_seq = replay(conn, last_seq, args.state_file, types)
                wait_for_doorbell(conn, last_seq, args.poll)
        except psycopg.OperationalError as e:
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            log(f"connection lost ({first_line}); reconnecting in {backoff:.1f}s "
                f"from seq {last_seq}")
            stop_requested.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
        finally:
            if conn is not None:
                conn.close()
    log(f"stopped at seq {last_seq}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: --dsn, --tenant, --user, --state-file, --types, --poll."""
    p = argparse.ArgumentParser(description="Print the metadata change feed as JSON lines.")
    p.add_argument("--dsn", required=True, help="libpq connection string")
    p.add_argument("--tenant", help="metadata.tenant_id of the session (unset: global only)")
    p.add_argument("--user", help="metadata.user_id of the session (its user layers)")
    p.add_argument("--state-file", required=True, help="file holding the last processed seq")
    p.add_argument("--types", help="comma-separated types to print (default: all)")
    p.add_argument("--poll", type=float, default=30.0,
                   help="read the feed at least this often, in seconds (default 30)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: SIGTERM and SIGINT request a clean stop."""
    args = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop_requested.set())
    follow(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
