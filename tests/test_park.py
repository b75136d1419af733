"""Parking: IMAP sessions in IDLE leave their worker for the parking
process, which hands them back when the client writes or the account
changes, so that an account whose clients all sit in IDLE has no worker."""
import os
import smtplib
import socket
import threading
import time

import pytest

from imap_util import (ALICE, BOB, PASSWORD, Client, close, connect, deliver, login_when_room,
                       wait_for)
from test_handoff import TLS12, group_processes, pinned_login
from test_imap_compress import CompressClient

# Parked after 300 ms in IDLE; a worker without sessions exits after 1 s.
PARK_CONFIG = "log.level = debug\nimap.park_delay = 300\nworker.idle_timeout = 1\n"


@pytest.fixture
def pserver(make):
    return make(PARK_CONFIG)


def count(server, needle):
    return server.log().count(needle)


def processes(server):
    return group_processes(server)


def workers(server):
    return [p for p, args in processes(server) if args.startswith("ravelin --role worker")]


def park_pid(server):
    pids = [p for p, args in processes(server) if args.startswith("ravelin --role park")]
    assert len(pids) == 1, processes(server)
    return pids[0]


def sockets_of(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def park_idle(server, c, parked_before):
    """c selects INBOX and goes into IDLE; returns once it is parked."""
    c.select_box("INBOX")
    c.idle_start()
    assert wait_for(lambda: count(server, "session parked") > parked_before, timeout=10), \
        server.log()[-3000:]


def next_untagged(c, timeout):
    r = c.idle_wait(timeout)
    while r is not None and r.startswith(b"* OK"):
        r = c.idle_wait(timeout)
    return r


def test_delivery_reaches_parked_session_with_worker_gone(pserver):
    c = connect(pserver)
    park_idle(pserver, c, 0)
    # Nothing keeps the account's worker now: it exits.
    assert wait_for(lambda: not workers(pserver), timeout=15), processes(pserver)
    start = time.monotonic()
    deliver(pserver, "to a parked session")
    assert next_untagged(c, 10) == b"* 1 EXISTS", c.exchange()
    assert time.monotonic() - start < 5
    assert count(pserver, "parked session taken up") >= 1
    # Parked again; DONE wakes it, and the session goes on.
    parked = count(pserver, "session parked")
    assert wait_for(lambda: count(pserver, "session parked") > parked, timeout=10)
    c.idle_done()
    r = c.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert r.has(b"Subject: to a parked session"), r.exchange()
    close(c)


# WORKER_PARKED_EXIT_MS in src/worker/worker.c: how long a worker stays
# once its last session left by parking (worker.idle_timeout otherwise).
WORKER_PARKED_EXIT_S = 5


def test_worker_whose_sessions_all_parked_exits_soon(make):
    """With the default worker.idle_timeout (60 s), a worker whose last
    session was parked exits after WORKER_PARKED_EXIT_S: a renewal (DONE,
    IDLE) woke it, and its clients will not need it for 25 minutes.  One
    whose last session logged out stays its idle time."""
    s = make("log.level = debug\nimap.park_delay = 300\nworker.idle_timeout = 60\n")
    c = connect(s)
    park_idle(s, c, 0)
    parked_at = time.monotonic()
    assert wait_for(lambda: not workers(s), timeout=WORKER_PARKED_EXIT_S + 15), processes(s)
    assert time.monotonic() - parked_at >= WORKER_PARKED_EXIT_S - 1.5
    # A renewal: the session comes back to a new worker, is parked again,
    # and that worker goes too.
    c.idle_done()
    c.idle_start()
    assert wait_for(lambda: count(s, "session parked") >= 2, timeout=10), s.log()[-3000:]
    assert wait_for(lambda: not workers(s), timeout=WORKER_PARKED_EXIT_S + 15), processes(s)
    # A delivery still reaches it.
    deliver(s, "after the renewal")
    assert next_untagged(c, 10) == b"* 1 EXISTS", c.exchange()
    c.idle_done()
    close(c)
    # The last session logged out: the worker stays.
    assert wait_for(lambda: workers(s), timeout=10), processes(s)
    time.sleep(WORKER_PARKED_EXIT_S + 3)
    assert workers(s), processes(s)


def test_done_after_parking_gets_ok(pserver):
    c = connect(pserver)
    park_idle(pserver, c, 0)
    c.idle_done()
    c.ok("NOOP")
    # IDLE again, parked again, and a second DONE.
    c.idle_start()
    assert wait_for(lambda: count(pserver, "session parked") >= 2, timeout=10)
    c.idle_done()
    close(c)


def test_sessions_of_one_account_all_come_back(pserver):
    clients = [connect(pserver) for _ in range(3)]
    for i, c in enumerate(clients):
        park_idle(pserver, c, i)
    deliver(pserver, "for all three")
    for c in clients:
        assert next_untagged(c, 10) == b"* 1 EXISTS", c.exchange()
    for c in clients:
        c.idle_done()
        close(c)


def test_flag_change_reaches_parked_session(pserver):
    deliver(pserver, "flag me")
    assert pserver.wait_inbox(ALICE, 1)
    a = connect(pserver)
    park_idle(pserver, a, 0)
    b = connect(pserver)
    b.select_box("INBOX")
    b.ok("STORE 1 +FLAGS (\\Flagged)")
    r = next_untagged(a, 10)
    assert r is not None and b"FETCH" in r and b"\\Flagged" in r, a.exchange()
    a.idle_done()
    close(a)
    close(b)


def test_client_that_leaves_while_parked_leaves_nothing(pserver):
    pid = park_pid(pserver)
    before = sockets_of(pid)
    c = connect(pserver)
    park_idle(pserver, c, 0)
    assert wait_for(lambda: sockets_of(pid) == before + 1, timeout=5), sockets_of(pid)
    # Gone without a word (no LOGOUT, no close_notify): the socket ends.
    c.sock.shutdown(socket.SHUT_RDWR)
    c.sock.close()
    assert wait_for(lambda: sockets_of(pid) == before, timeout=5), sockets_of(pid)
    assert pserver.wait_log("parked client of account"), pserver.log()[-3000:]
    # No worker was started for it.
    assert count(pserver, "parked session taken up") == 0


def test_relayed_tls12_session_is_not_parked(pserver):
    """A TLS 1.2 session is relayed by its pre-auth process, which holds
    its keys: it stays in its worker, and IDLE works as before."""
    c = pinned_login(pserver, TLS12)
    c.select_box("INBOX")
    c.idle_start()
    time.sleep(1.5)
    assert count(pserver, "session parked") == 0, pserver.log()[-3000:]
    deliver(pserver, "to a relayed session")
    assert next_untagged(c, 10) == b"* 1 EXISTS", c.exchange()
    c.idle_done()
    close(c)


def test_compressed_session_is_parked_and_goes_on(pserver):
    """A session with COMPRESS=DEFLATE (phones ask for it) is parked too:
    the deflate layer's windows go with it, and both streams go on where
    they stopped, pointing back at what was said before the park."""
    deliver(pserver, "before the park")
    pserver.wait_inbox(ALICE, 1)
    c = CompressClient(pserver.imaps_port)
    assert c.login(ALICE, PASSWORD)[0] == "OK", c.exchange()
    assert c.compress().ok, c.exchange()
    subjects = "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"
    c.select_box("INBOX")
    assert c.ok(subjects).has(b"Subject: before the park")
    park_idle(pserver, c, 0)
    assert pserver.wait_log("session parked (COMPRESS)"), pserver.log()[-3000:]
    assert wait_for(lambda: not workers(pserver), timeout=15), processes(pserver)
    deliver(pserver, "to a compressed parked session")
    assert next_untagged(c, 10) == b"* 2 EXISTS", c.exchange()
    # Parked again, and woken by DONE this time.
    parked = count(pserver, "session parked (COMPRESS)")
    assert wait_for(lambda: count(pserver, "session parked (COMPRESS)") > parked, timeout=10)
    c.idle_done()
    r = c.ok(subjects)
    assert r.has(b"Subject: before the park") and \
        r.has(b"Subject: to a compressed parked session"), r.exchange()
    r = c.ok(subjects)
    assert r.has(b"Subject: to a compressed parked session"), r.exchange()
    close(c)
    assert "unusable" not in pserver.log()


# Accounts of the many-deliveries tests: more than the queue's worker
# places (QUEUE_MAX_WORKERS, 16), so that the deliveries outlast them.
PARK_MANY_ACCOUNTS = 20
# What "at once" means in a functional test: a debug build with the
# sanitizers, on a machine so busy that starting ten workers together takes
# seconds (the benchmark's median is 7 ms).  Well under the park delay
# below: a delivery that waits for a woken worker to exit waits that long.
PARK_WAKE_BOUND_S = 10.0
# Long enough for the sessions woken to stay in their new workers for the
# whole test, as a client's would with the default delay of 10 s.
PARK_MANY_CONFIG = "log.level = debug\nimap.park_delay = 20000\nworker.idle_timeout = 1\n"


def parked_accounts(s, n):
    """n accounts, each with one session parked in IDLE and no worker."""
    users = [f"idle{i}@example.org" for i in range(n)]
    for u in users:
        s.add_account(u)
    clients = []
    for u in users:
        c = connect(s, user=u)
        c.select_box("INBOX")
        c.idle_start()
        clients.append(c)
    assert wait_for(lambda: count(s, "session parked") >= n, timeout=60), s.log()[-3000:]
    assert wait_for(lambda: not workers(s), timeout=30), processes(s)
    return users, clients


def wait_exists(c, n, timeout):
    """True once c says "* n EXISTS" (its RECENT and OKs skipped)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = c.idle_wait(end - time.monotonic())
        if r == b"* %d EXISTS" % n:
            return True
    return False


def told_after(clients, n, start):
    """For each client (read at the same time), the seconds from start to
    its "* n EXISTS", or None if it did not come within 30 s."""
    took = [None] * len(clients)

    def watch(i):
        if wait_exists(clients[i], n, 30):
            took[i] = round(time.monotonic() - start, 2)
    threads = [threading.Thread(target=watch, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return took


def test_one_message_to_many_parked_accounts_each_told_at_once(make):
    """One message to more accounts than the queue has worker places, each
    with its session parked and its worker retired: every session is told
    within PARK_WAKE_BOUND_S, although the woken sessions keep their new
    workers (a place held until its worker exits let the last accounts'
    deliveries wait for the park delay)."""
    s = make(PARK_MANY_CONFIG)
    users, clients = parked_accounts(s, PARK_MANY_ACCOUNTS)
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=20) as smtp:
        smtp.sendmail("s@remote.test", users, "From: s@remote.test\r\nSubject: all\r\n\r\nhi\r\n")
        start = time.monotonic()  # its 250
    took = told_after(clients, 1, start)
    late = [(u, t) for u, t in zip(users, took) if t is None or t > PARK_WAKE_BOUND_S]
    assert not late, (late, s.log()[-3000:])
    for c in clients:
        c.idle_done()
        close(c)


# IPC_ACCOUNT_MAX_IMAP_SESSIONS in src/lib/ipc-limits.h.
MAX_SESSIONS_PER_ACCOUNT = 100


def test_parked_sessions_count_against_the_account_limit(make):
    """An account's parked sessions count as its sessions: with
    MAX_SESSIONS_PER_ACCOUNT of them parked, the next LOGIN gets a tagged
    NO [LIMIT] (it used to be let in, and as many more as parked); one
    client leaving while parked makes room again."""
    s = make(PARK_CONFIG + "front.max_connections_per_ip = 500\n")
    clients = []
    try:
        for _ in range(MAX_SESSIONS_PER_ACCOUNT):
            c = connect(s, timeout=60)
            c.select_box("INBOX")
            c.idle_start()
            clients.append(c)
        assert wait_for(lambda: count(s, "session parked") >= MAX_SESSIONS_PER_ACCOUNT,
                        timeout=60), s.log()[-3000:]
        extra = Client(s.imaps_port, timeout=30)
        r = extra.run(f'LOGIN "{ALICE}" "{PASSWORD}"')
        assert r.status == "NO" and r.code == "LIMIT" and not r.untagged, r.exchange()
        # Another account is not affected.
        b = connect(s, BOB)
        b.ok("SELECT INBOX")
        close(b)
        # One client leaves without a word (parked, or taken up again by
        # the worker the refused login started): room for one.
        gone = clients.pop()
        gone.sock.shutdown(socket.SHUT_RDWR)
        gone.sock.close()
        r = login_when_room(extra, 20)
        assert r.status == "OK", r.exchange()
        clients.append(extra)
        assert "session refused, the account has" not in s.log()
    finally:
        for c in clients:
            c.sock.close()
