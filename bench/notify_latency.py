"""Commit-to-doorbell latency (bench/notify_latency.sh runs it; not a test).

One writer saves an item N times, one save per transaction, 5 ms apart; a listener on
another connection records when each change's doorbell (`metadata_changes`, payload
{"seq": last, "count": n}) arrives. Prints the p50/p99/max delay, in milliseconds, from the
moment the writer's commit returned to the doorbell covering its change (0 when the
doorbell came first: plain mode rings inside the commit).

Usage: python notify_latency.py DSN N LABEL
"""
import json
import sys
import threading
import time

import psycopg


def main() -> None:
    dsn, n, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    listener = psycopg.connect(dsn, autocommit=True)
    listener.execute("LISTEN metadata_changes")
    writer = psycopg.connect(dsn, autocommit=True)
    head = writer.execute("SELECT metadata.wait_for_feed('30 s')").fetchone()[0]
    last = head + n
    arrivals: dict[int, float] = {}

    def listen() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and max(arrivals, default=head) < last:
            for note in listener.notifies(timeout=0.5):
                now = time.perf_counter()
                payload = json.loads(note.payload)
                for seq in range(payload["seq"] - payload["count"] + 1, payload["seq"] + 1):
                    arrivals[seq] = now
                if payload["seq"] >= last:
                    return

    thread = threading.Thread(target=listen)
    thread.start()
    returned: dict[int, float] = {}
    for k in range(1, n + 1):
        writer.execute(
            "SELECT 1 FROM metadata.save('object', 'latency', jsonb_build_object('k', %s::int), scope => 'system')",
            (k,),
        )
        returned[head + k] = time.perf_counter()
        time.sleep(0.005)
    thread.join(timeout=70)
    delays = sorted(max(0.0, arrivals[s] - t) * 1000 for s, t in returned.items() if s in arrivals)
    if len(delays) != n:
        sys.exit(f"bench: notify_latency {label}: {n - len(delays)} of {n} doorbells missing")
    pick = lambda q: delays[min(len(delays) - 1, int(q * len(delays)))]
    print(
        f"bench: notify_latency {label:<9} changes {n}  p50 {pick(0.5):7.3f} ms"
        f"  p99 {pick(0.99):7.3f} ms  max {delays[-1]:7.3f} ms"
    )


if __name__ == "__main__":
    main()
