#!/usr/bin/env python3
"""End-to-end test of examples/python/follow.py against a database with the extension.

Usage: test_follow.py DSN WORKDIR (run by test_follow.sh, which creates the database and
the virtual environment). Uses the built-in type `object` only.

The follower runs for tenant acme and user alice. The test writes a system base, acme's
and globex's platform overlays, alice's and bob's user layers and a delete, terminates the
follower's backend with pg_terminate_backend and writes more while it reconnects, then
checks that the follower printed every change acme/alice may see exactly once, in strictly
increasing seq order, with acme's effective documents and nothing of globex or bob. It
stops the follower (SIGTERM), writes more, restarts it with the same state file and checks
that it prints exactly the changes after its stored seq.

Ground truth comes from the history table read as the superuser (which bypasses row
level security), filtered here in Python: not from changes_since, the code under test.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import psycopg
from psycopg.types.json import Jsonb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLLOW = os.path.join(ROOT, "examples", "python", "follow.py")
TENANT, USER = "acme", "alice"
WAIT = 10.0  # seconds, for the follower to catch up / reconnect / stop


class Failure(Exception):
    """A failed check, with a message for the reader."""


def check(condition: bool, message: str) -> None:
    """Raise Failure(message) unless condition holds."""
    if not condition:
        raise Failure(message)


class Follower:
    """follow.py as a subprocess; a thread collects its stdout lines (parsed JSON)."""

    def __init__(self, dsn: str, state_file: str, stderr_path: str):
        """Start the follower for TENANT/USER with state_file; its stderr goes to stderr_path."""
        self.stderr_path = stderr_path
        self.lines: queue.Queue = queue.Queue()
        self.out: list[dict] = []
        self.stderr = open(stderr_path, "a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, FOLLOW, "--dsn", dsn, "--tenant", TENANT, "--user", USER,
             "--state-file", state_file, "--poll", "30"],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        """Queue every stdout line, parsed (or the raw text when it is not JSON)."""
        for raw in self.proc.stdout:
            try:
                self.lines.put(json.loads(raw))
            except ValueError:
                self.lines.put({"unparsable": raw})

    def wait_for_seq(self, seq: int, what: str) -> None:
        """Collect output until a line with seq >= seq arrives (at most WAIT seconds)."""
        deadline = time.monotonic() + WAIT
        while not any(line.get("seq", 0) >= seq for line in self.out):
            left = deadline - time.monotonic()
            check(left > 0 and self.proc.poll() is None,
                  f"{what}: the follower did not print seq {seq} within {WAIT:.0f}s "
                  f"(exit code {self.proc.poll()}; last line {self.out[-1:]})")
            try:
                self.out.append(self.lines.get(timeout=min(left, 0.5)))
            except queue.Empty:
                pass
        self.settle()

    def settle(self, quiet: float = 0.5) -> None:
        """Collect whatever else arrives until the output has been quiet for `quiet` seconds
        (a line printed twice would show up here)."""
        while True:
            try:
                self.out.append(self.lines.get(timeout=quiet))
            except queue.Empty:
                return

    def stop(self) -> int:
        """SIGTERM the follower; return its exit code (Failure if it does not end in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"the follower did not end within {WAIT:.0f}s of SIGTERM")
        self.settle(0.2)
        self.stderr.close()
        return code

    def kill(self) -> None:
        """Kill the follower if it still runs (cleanup after a failure)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def session(dsn: str, tenant: str | None = None, user: str | None = None) -> psycopg.Connection:
    """An autocommit connection as the superuser, acting for tenant/user."""
    conn = psycopg.connect(dsn, autocommit=True, application_name="test-follow")
    conn.execute("SELECT set_config('metadata.tenant_id', %s, false)", (tenant or "",))
    conn.execute("SELECT set_config('metadata.user_id', %s, false)", (user or "",))
    return conn


def obj(name: str, label: str, fields: dict | None = None) -> Jsonb:
    """A document of type object (the built-in schema needs name and fields)."""
    return Jsonb({"name": name, "label": label, "fields": fields or {"title": {"type": "text"}}})


class Writer:
    """Writes as the system (global), acme, globex, alice (acme) and bob (acme)."""

    def __init__(self, dsn: str):
        """Open one session per actor."""
        self.system = session(dsn)
        self.acme = session(dsn, "acme")
        self.globex = session(dsn, "globex")
        self.alice = session(dsn, "acme", "alice")
        self.bob = session(dsn, "acme", "bob")

    def save(self, conn: psycopg.Connection, name: str, doc, scope: str) -> None:
        """metadata.save of one layer (doc: a full document or a merge patch)."""
        conn.execute("SELECT metadata.save('object', %s, %s, scope => %s)",
                     (name, doc if isinstance(doc, Jsonb) else Jsonb(doc), scope))

    def delete(self, conn: psycopg.Connection, name: str, scope: str) -> None:
        """metadata.delete of one layer."""
        row = conn.execute("SELECT metadata.delete('object', %s, scope => %s)",
                           (name, scope)).fetchone()
        check(row[0] is True, f"delete of {name} ({scope}) found nothing")


def history(conn: psycopg.Connection) -> list[dict]:
    """Every numbered change, read from the history table (the superuser bypasses RLS)."""
    rows = conn.execute(
        "SELECT seq, op, tenant_id, type, name, scope, owner "
        "FROM metadata.sys_metadata_history WHERE seq IS NOT NULL ORDER BY seq").fetchall()
    keys = ("seq", "op", "tenant_id", "type", "name", "scope", "owner")
    return [dict(zip(keys, r)) for r in rows]


def visible(change: dict) -> bool:
    """Whether acme/alice may see a change: global or acme's; user layers alice's only."""
    return (change["tenant_id"] in (None, TENANT)
            and (change["scope"] != "user" or change["owner"] == USER))


def check_output(out: list[dict], expected: list[dict], what: str) -> None:
    """The follower's lines are exactly the expected changes, once each, in seq order."""
    check(all("unparsable" not in line for line in out), f"{what}: unparsable output {out}")
    seqs = [line["seq"] for line in out]
    check(all(a < b for a, b in zip(seqs, seqs[1:])),
          f"{what}: seqs not strictly increasing (a duplicate or a reorder): {seqs}")
    want = [c["seq"] for c in expected]
    missing, extra = sorted(set(want) - set(seqs)), sorted(set(seqs) - set(want))
    check(not missing and not extra,
          f"{what}: missing seqs {missing}, unexpected seqs {extra} (printed {seqs})")
    for line, change in zip(out, expected):
        got = {k: line.get(k) for k in ("seq", "op", "type", "name", "scope")}
        want_row = {k: change[k] for k in ("seq", "op", "type", "name", "scope")}
        check(got == want_row, f"{what}: printed {got}, the feed has {want_row}")
        check(set(line) == {"seq", "op", "type", "name", "scope", "effective"},
              f"{what}: unexpected keys in {line}")


def check_no_leak(out: list[dict]) -> None:
    """Nothing of globex or bob reaches acme/alice, in the changes or in effective documents."""
    text = json.dumps(out)
    for secret in ("Globex", "globex_only", "Bob", "bob_only"):
        check(secret not in text, f"the follower printed {secret!r}, which acme/alice may not see")


def run(dsn: str, workdir: str) -> str:
    """The whole scenario; returns the summary line."""
    state_file = os.path.join(workdir, "follow.seq")
    stderr_path = os.path.join(workdir, "follow.stderr")
    w = Writer(dsn)
    observer = session(dsn, TENANT, USER)

    # The system base exists before the follower starts (it replays from 0).
    w.save(w.system, "account", obj("account", "Account"), "system")

    first = Follower(dsn, state_file, stderr_path)
    followers = [first]
    try:
        # Phase 1: the follower is connected.
        w.save(w.system, "account", obj("account", "Account v2"), "system")
        w.save(w.acme, "account", {"label": "Acme account",
                                   "fields": {"acme_code": {"type": "text"}}}, "platform")
        w.save(w.globex, "account", {"label": "Globex account"}, "platform")
        w.save(w.globex, "globex_only", obj("globex_only", "Globex secret"), "platform")
        w.save(w.alice, "account", {"icon": "alice-star"}, "user")
        w.save(w.bob, "account", {"icon": "Bob-moon"}, "user")
        w.save(w.system, "scratch", obj("scratch", "Scratch"), "system")
        w.delete(w.system, "scratch", "system")
        head = history(w.system)[-1]["seq"]
        first.wait_for_seq(max(c["seq"] for c in history(w.system) if visible(c)), "phase 1")

        # Kill the follower's connection and write while it reconnects.
        pids = [r[0] for r in w.system.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name = 'metadata-follow' AND datname = current_database()")]
        check(len(pids) == 1, f"expected one metadata-follow backend, found {pids}")
        terminated = w.system.execute("SELECT pg_terminate_backend(%s, 5000)",
                                      (pids[0],)).fetchone()[0]
        check(terminated, f"pg_terminate_backend({pids[0]}) failed")
        w.save(w.system, "account", obj("account", "Account v3"), "system")
        w.save(w.acme, "account", {"label": "Acme account v2"}, "platform")
        w.save(w.globex, "account", {"label": "Globex account v2"}, "platform")
        w.save(w.acme, "contact", obj("contact", "Acme contact"), "platform")
        w.save(w.bob, "bob_only", obj("bob_only", "Bob's own"), "user")
        w.delete(w.acme, "contact", "platform")
        during = [c for c in history(w.system) if c["seq"] > head]
        first.wait_for_seq(max(c["seq"] for c in during if visible(c)), "after the reconnect")
        new_pids = [r[0] for r in w.system.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name = 'metadata-follow' AND datname = current_database()")]
        check(len(new_pids) == 1 and new_pids != pids,
              f"expected one new metadata-follow backend, found {new_pids} (old {pids})")

        # Everything acme/alice may see, exactly once, in order.
        all_changes = history(w.system)
        expected = [c for c in all_changes if visible(c)]
        hidden = len(all_changes) - len(expected)
        check(hidden == 5, f"expected 5 changes hidden from acme/alice, found {hidden}")
        check_output(first.out, expected, "first run")
        check_no_leak(first.out)

        # Effective documents: acme's overlay (and alice's layer) once they exist; the
        # deleted items are gone; the newest line per item is the effective document now.
        acme_overlay = min(c["seq"] for c in expected
                           if c["tenant_id"] == TENANT and c["name"] == "account")
        for line in first.out:
            if line["name"] == "account" and line["seq"] >= acme_overlay:
                eff = line["effective"] or {}
                check(str(eff.get("label", "")).startswith("Acme account"),
                      f"seq {line['seq']}: effective lacks acme's overlay: {eff}")
                if line["seq"] == acme_overlay:
                    check("acme_code" in eff.get("fields", {}) and "title" in eff["fields"],
                          f"seq {line['seq']}: acme's overlay not merged on the base: {eff}")
        for name in ("scratch", "contact"):
            last = [line for line in first.out if line["name"] == name][-1]
            check(last["op"] == "delete" and last["effective"] is None,
                  f"{name}: expected a delete with effective null, got {last}")
        now = observer.execute("SELECT metadata.effective('object', 'account')").fetchone()[0]
        last_account = [line for line in first.out if line["name"] == "account"][-1]
        check(last_account["effective"] == now,
              f"last effective of account {last_account['effective']} != now {now}")
        check(now["label"] == "Acme account v2" and now.get("icon") == "alice-star",
              f"effective account for acme/alice is not acme's v2 with alice's icon: {now}")
        with open(stderr_path, encoding="utf-8") as f:
            check("connection lost" in f.read(), "the follower did not report the lost connection")

        # Stop; the state file holds the last seq it printed.
        code = first.stop()
        check(code == 0, f"the follower exited {code} on SIGTERM (expected 0)")
        try:
            with open(state_file, encoding="utf-8") as f:
                stored = int(f.read().strip())
        except (OSError, ValueError) as e:
            raise Failure(f"cannot read the follower's state file: {e}") from e
        check(stored == expected[-1]["seq"],
              f"state file holds {stored}, expected {expected[-1]['seq']}")

        # Phase 3: write while it is stopped, restart with the same state file.
        w.save(w.acme, "account", {"label": "Acme account v3"}, "platform")
        w.save(w.globex, "account", {"label": "Globex account v3"}, "platform")
        w.save(w.system, "lead", obj("lead", "Lead"), "system")
        w.save(w.alice, "lead", {"icon": "alice-lead"}, "user")
        second = Follower(dsn, state_file, stderr_path)
        followers.append(second)
        later = [c for c in history(w.system) if c["seq"] > stored and visible(c)]
        second.wait_for_seq(later[-1]["seq"], "after the restart")
        check_output(second.out, later, "second run")
        check_no_leak(second.out)
        check(second.out[-1]["effective"].get("icon") == "alice-lead",
              f"lead: alice's layer missing from {second.out[-1]}")
        code = second.stop()
        check(code == 0, f"the restarted follower exited {code} on SIGTERM (expected 0)")
        return (f"test_follow: OK: {len(first.out)} changes followed across a "
                f"pg_terminate_backend ({hidden} of other tenants/users hidden), "
                f"{len(second.out)} more after a restart from seq {stored}")
    finally:
        for f in followers:
            f.kill()


def main() -> int:
    """Run the scenario; print the summary, or FAIL with the follower's stderr."""
    dsn, workdir = sys.argv[1], sys.argv[2]
    try:
        print(run(dsn, workdir))
        return 0
    except (Failure, psycopg.Error) as e:
        print(f"test_follow: FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        path = os.path.join(workdir, "follow.stderr")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                print("--- follower stderr:\n" + f.read(), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
