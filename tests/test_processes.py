"""The process layout: restarts, re-wiring and workers that come and go."""
import os
import re
import signal
import smtplib
import subprocess
import time

import pytest


def pids(server, role):
    out = subprocess.run(["pgrep", "-f", "--", f"--role {role}"], capture_output=True,
                         text=True).stdout
    found = []
    for p in out.split():
        try:  # a process may end between pgrep and this look
            if os.getpgid(int(p)) == server.proc.pid:
                found.append(int(p))
        except ProcessLookupError:
            pass
    return found


def send(server, subject, to="alice@example.org"):
    end = time.monotonic() + 15
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as c:
                c.sendmail("s@remote.test", [to], f"Subject: {subject}\r\n\r\nx\r\n")
            return
        except (OSError, smtplib.SMTPException):
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("role", ["auth", "queue"])
def test_killed_auth_or_queue_is_restarted_and_rewired(server, role):
    send(server, "before")
    server.wait_inbox("alice@example.org", 1)
    old = pids(server, role)
    assert len(old) == 1
    os.kill(old[0], signal.SIGKILL)
    # The fronts get links to the new process; mail flows again.
    send(server, "after")
    server.wait_inbox("alice@example.org", 2)
    new = pids(server, role)
    assert new and new != old
    assert re.search(rf"{role} was killed by signal 9.*restarting", server.log())


def test_idle_worker_exits_and_comes_back(server):
    # worker.idle_timeout = 5 in the test configuration.
    send(server, "first")
    server.wait_inbox("alice@example.org", 1)
    assert pids(server, "worker")
    end = time.monotonic() + 30
    while pids(server, "worker") and time.monotonic() < end:
        time.sleep(0.5)
    assert not pids(server, "worker"), "an idle worker should exit"
    send(server, "second")
    server.wait_inbox("alice@example.org", 2)


def test_malformed_link_message_is_refused_by_a_child():
    # The ipc unit tests cover the reader; here: a child refuses to run
    # outside master (no link on descriptor 3).
    from conftest import BIN
    r = subprocess.run([BIN, "--role", "spawner", "--index", "0"], capture_output=True,
                       text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode == 2 and "started by 'ravelin serve' only" in r.stderr
