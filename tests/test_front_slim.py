"""The spawners run ravelin-front, the front's slim executable: a pre-auth
process (forked per connection) maps only the front's libraries, still
under its jail; without ravelin-front beside ravelin the front still works."""
import os
import re
import shutil
import smtplib
import subprocess
import time

import conftest

# Libraries only the store, calendars and DNSSEC need: never in the front.
NOT_IN_FRONT = ("libsqlite3", "libical", "libunbound", "libexpat", "libjansson",
                "libevent", "libicui18n", "libz.")


def spawner_pids(server):
    ps = subprocess.run(["ps", "-o", "pid=,ppid=,args=", "-g", str(server.proc.pid)],
                        capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in ps.splitlines()]
    spawners = [int(pid) for pid, _, args in rows if "--role spawner" in args]
    spares = [int(pid) for pid, ppid, _ in rows if int(ppid) in spawners]
    parents = {int(ppid) for _, ppid, _ in rows if int(ppid) in spawners}
    return spawners, spares, parents


def mapped_files(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {line.split()[5] for line in f if len(line.split()) > 5}


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def wait_spares(server):
    """The spawners and their spares once every spawner has made one: a
    spawner makes spares only when it is jailed and linked, so one still
    starting (loading its certificate, before its jail) is not looked at
    too early."""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        spawners, spares, parents = spawner_pids(server)
        if spawners and spares and parents.issuperset(spawners):
            return spawners, spares
        time.sleep(0.1)
    raise AssertionError("no spare pre-auth process from every spawner")


def send(server, subject):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=20) as c:
        c.sendmail("s@remote.test", ["alice@example.org"], f"Subject: {subject}\r\n\r\nhi\r\n")


def process_view(pid):
    """pid's executable, mapped files and status, or None if it ended
    meanwhile (a spawner renews its spares as the long-lived processes
    link up after a start)."""
    try:
        return (os.path.realpath(os.readlink(f"/proc/{pid}/exe")), mapped_files(pid),
                status(pid))
    except OSError:
        return None


def live_views(server):
    """Views of the spawners and two spares, all taken while they lived."""
    end = time.monotonic() + 20
    while True:
        spawners, spares = wait_spares(server)
        views = {pid: process_view(pid) for pid in spawners + spares[:2]}
        if None not in views.values():
            return views
        assert time.monotonic() < end, "spares kept ending before they could be looked at"
        time.sleep(0.1)


def test_spawner_and_spares_map_only_the_front(server):
    front = os.path.join(os.path.dirname(os.path.realpath(conftest.BIN)), "ravelin-front")
    for pid, (exe, files, st) in live_views(server).items():
        assert exe == front, pid
        extra = [f for f in files if any(name in f for name in NOT_IN_FRONT)]
        assert not extra, (pid, extra)
        # A spare is jailed before it is given a connection.
        assert st["Seccomp"].strip() == "2" and st["NoNewPrivs"].strip() == "1", pid
    # ... and it serves mail as before.
    send(server, "slim")
    server.wait_inbox("alice@example.org", 1)
    assert "ravelin-front is missing" not in server.log()


def test_front_falls_back_to_ravelin_without_ravelin_front(monkeypatch, tmp_path):
    alone = tmp_path / "bin"
    alone.mkdir()
    shutil.copy(conftest.BIN, alone / "ravelin")
    monkeypatch.setattr(conftest, "BIN", str(alone / "ravelin"))
    s = conftest.make_server().start()
    try:
        spawners, _ = wait_spares(s)
        assert os.path.realpath(f"/proc/{spawners[0]}/exe") == str(alone / "ravelin")
        send(s, "fallback")
        s.wait_inbox("alice@example.org", 1)
        assert re.search(r"warn: .*ravelin-front is missing: the spawners run", s.log())
    finally:
        s.stop()
    conftest.check_no_sanitizer_reports(s)


def test_ravelin_front_runs_only_under_master():
    front = os.path.join(os.path.dirname(conftest.BIN), "ravelin-front")
    r = subprocess.run([front, "--role", "spawner", "--index", "0"], capture_output=True,
                       text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "started by 'ravelin serve' only" in r.stderr
