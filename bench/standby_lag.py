"""Feed lag from a commit on the primary to changes_since on a standby (bench/standby.sh
runs it; not a test).

A writer on the primary saves item object/lag_probe N times, one save per transaction,
about 5 ms apart, and records when each commit returned (its version identifies the
change); a poller on the standby calls metadata.changes_since(last, 1000) every POLL_MS
(default 1) and records when each version of lag_probe first shows there. Prints the
p50/p99/max delay in milliseconds (the poll interval is part of it: up to POLL_MS more).

Usage: python standby_lag.py PRIMARY_DSN STANDBY_DSN N LABEL [POLL_MS]
"""
import sys
import threading
import time

import psycopg


def main() -> None:
    primary_dsn, standby_dsn, n, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    poll_s = float(sys.argv[5] if len(sys.argv) > 5 else 1) / 1000
    writer = psycopg.connect(primary_dsn, autocommit=True)
    poller = psycopg.connect(standby_dsn, autocommit=True)
    last = poller.execute("SELECT head FROM metadata.feed_bounds()").fetchone()[0]
    seen: dict[int, float] = {}
    returned: dict[int, float] = {}
    stop = threading.Event()
    calls = 0

    def poll() -> None:
        nonlocal last, calls
        while not stop.is_set():
            rows = poller.execute(
                "SELECT seq, name, version FROM metadata.changes_since(%s, 1000)", (last,)
            ).fetchall()
            now = time.perf_counter()
            calls += 1
            for seq, name, version in rows:
                if name == "lag_probe":
                    seen.setdefault(version, now)
                last = max(last, seq)
            time.sleep(poll_s)

    thread = threading.Thread(target=poll)
    thread.start()
    for k in range(n):
        version = writer.execute(
            "SELECT version FROM metadata.save('object', 'lag_probe', jsonb_build_object('k', %s::int), scope => 'system')",
            (k,),
        ).fetchone()[0]
        returned[version] = time.perf_counter()
        time.sleep(0.005)
    give_up = time.perf_counter() + 30
    while not returned.keys() <= seen.keys() and time.perf_counter() < give_up:
        time.sleep(0.01)
    stop.set()
    thread.join()
    delays = sorted(max(0.0, seen[v] - t) * 1000 for v, t in returned.items() if v in seen)
    if len(delays) != n:
        sys.exit(f"bench: standby {label}: {n - len(delays)} of {n} changes never seen on the standby")
    pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    print(
        f"bench: standby {label:<34} changes {n}  p50 {pick(0.5):7.3f} ms"
        f"  p99 {pick(0.99):7.3f} ms  max {delays[-1]:7.3f} ms  (poll every {poll_s * 1000:g} ms, {calls} polls)"
    )


if __name__ == "__main__":
    main()
