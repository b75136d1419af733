"""Under pressure the front stays usable: slow clients from many addresses
holding every place cannot lock out a new one (the oldest connections
without a login make room, and under stress they may not linger), and
the number of pre-auth processes stays bounded."""
import errno
import imaplib
import resource
import selectors
import smtplib
import socket
import subprocess
import time

from imap_util import ALICE, CTX, PASSWORD

ATTACKERS = 100          # source addresses 127.0.2.1 ... 127.0.2.100
PER_ATTACKER = 50        # the default front.max_connections_per_ip
PLACES = 200             # front.max_connections per spawner (two spawners)


def open_slow_connections(ports):
    """5,000 connections that say nothing (slowloris), as fast as they go."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = ATTACKERS * PER_ATTACKER + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    socks = []
    for a in range(ATTACKERS):
        src = f"127.0.2.{a + 1}"
        for i in range(PER_ATTACKER):
            s = socket.socket()
            s.setblocking(False)
            s.bind((src, 0))
            try:
                s.connect(("127.0.0.1", ports[i % len(ports)]))
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno not in (errno.EINPROGRESS, errno.EAGAIN):
                    s.close()
                    continue
            socks.append(s)
    return socks


def preauth_processes(server):
    out = subprocess.run(["ps", "-o", "args=", "-g", str(server.proc.pid)],
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.startswith("ravelin preauth")]


def read_one_message():
    start = time.monotonic()
    c = imaplib.IMAP4_SSL("127.0.0.1", PORT[0], ssl_context=CTX, timeout=10)
    c.login(ALICE, PASSWORD)
    c.select("INBOX")
    typ, data = c.fetch("1", "(BODY[])")
    elapsed = time.monotonic() - start
    c.logout()
    assert typ == "OK" and b"before the flood" in data[0][1]
    return elapsed


PORT = [0]


def test_slow_connections_from_many_addresses_do_not_lock_out_a_client(make):
    server = make(f"front.max_connections = {PLACES}")
    PORT[0] = server.imaps_port
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as c:
        c.sendmail("s@remote.test", [ALICE], "Subject: x\r\n\r\nbefore the flood\r\n")
    server.wait_inbox(ALICE, 1)
    quiet = read_one_message()
    socks = open_slow_connections([server.imap_port, server.imaps_port, server.smtp_port])
    try:
        # Let the flood land: every place is taken, the rest wait in the
        # listen queues or were ended to make room.  Landing is forking a
        # process per place (400 here), so it takes as long as the
        # machine's forks do: wait until the count of pre-auth processes
        # holds still for a second (at least 3 s, at most 30 s).
        time.sleep(3)
        busy = len(preauth_processes(server))
        end = time.monotonic() + 30
        while time.monotonic() < end:
            time.sleep(1)
            now = len(preauth_processes(server))
            if now == busy:
                break
            busy = now
        assert busy <= 2 * (PLACES + 8) + 16, busy
        times = [read_one_message() for _ in range(3)]
        print("read one message: quiet %.3f s, under the flood %s" % (quiet, times))
        assert max(times) < 1.0, (quiet, times)
    finally:
        for s in socks:
            s.close()
    log = server.log()
    assert "places taken: ending the oldest connection without a login" in log
    # Once the flood is gone, everything is as before.
    time.sleep(1)
    assert read_one_message() < 1.0
