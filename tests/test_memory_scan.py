"""After a login and a FETCH, the password and the mail are in no Ravelin
process but the account's worker: the memory of every other process
(master, spawners, spare pre-auth processes, auth, queue, keys) is read
through /proc/PID/mem, as an attacker who took one of them over could."""
import imaplib
import os
import re
import secrets
import ssl
import subprocess
import time

import pytest

from conftest import make_server

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="reads other processes' memory")

# Regions bigger than this are the sanitizer's shadow memory (reserved,
# untouched): the data a process holds is in its heap and stack.
MAX_REGION = 1 << 30


def group_processes(pgid):
    out = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(pgid)], capture_output=True,
                         text=True).stdout
    procs = []
    for line in out.splitlines():
        pid, args = line.strip().split(None, 1)
        procs.append((int(pid), args))
    return procs


def resident_regions(pid):
    """(start, end) of every readable region with resident pages."""
    regions, current = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if m:
                start, end, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
                current = (start, end) if perms[0] == "r" and end - start <= MAX_REGION else None
                continue
            if current is not None and line.startswith("Rss:") and int(line.split()[1]) > 0:
                regions.append(current)
                current = None
    return regions


def memory_holds(pid, needles):
    """The needles found anywhere in pid's memory."""
    found = set()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end in resident_regions(pid):
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue  # guard pages, [vvar]
            for n in needles:
                if n in data:
                    found.add(n)
    return found


def context(version):
    ctx = ssl._create_unverified_context()
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


# TLS 1.3 sessions are handed to the worker and their pre-auth process
# ends; a TLS 1.2 session stays relayed by its own pre-auth process, which
# saw that one user's password and relays that one user's mail, and must
# be the only other process that holds them.
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2],
                         ids=["tls1.3", "tls1.2"])
def test_password_and_mail_only_in_the_accounts_worker(version):
    server = make_server("log.level = debug")
    password = "pw-" + secrets.token_hex(16)
    marker = "mail-" + secrets.token_hex(20)
    server.cli("account", "passwd", "alice@example.org", input=password + "\n")
    server.start()
    try:
        body = (f"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: scan\r\n\r\n"
                f"The secret line: {marker}\r\n").encode()
        c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=context(version), timeout=20)
        c.login("alice@example.org", password)
        assert c.append("INBOX", None, None, body)[0] == "OK"
        c.logout()
        # A second login, and a FETCH of the mail, left open.
        c = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=context(version), timeout=20)
        c.login("alice@example.org", password)
        c.select("INBOX")
        typ, data = c.fetch("1", "(BODY[])")
        assert typ == "OK" and marker.encode() in data[0][1]
        time.sleep(0.5)  # the pre-auth processes that handed over are gone
        needles = {password.encode(), marker.encode()}
        procs = group_processes(server.proc.pid)
        workers = [p for p, a in procs if "--role worker" in a]
        assert len(workers) == 1, procs
        seen = {}
        for pid, args in procs:
            try:
                seen[(pid, args)] = memory_holds(pid, needles)
            except (FileNotFoundError, ProcessLookupError):
                continue  # a spare that ended meanwhile
        holders = {k: v for k, v in seen.items() if v and k[0] not in workers}
        if version == ssl.TLSVersion.TLSv1_2:
            # Only the open session's relay (the first session's is gone).
            relays = [k for k in holders if "preauth IMAPS" in k[1]]
            assert len(relays) == len(holders) <= 1, f"found outside the worker: {holders}"
            holders = {}
        assert not holders, f"found outside the worker: {holders}"
        # The worker has the mail (it served the FETCH), not the password.
        worker = [v for k, v in seen.items() if k[0] in workers][0]
        assert marker.encode() in worker
        assert password.encode() not in worker
        assert len(seen) >= 6  # master, spawners, spares, auth, queue, keys
        if version == ssl.TLSVersion.TLSv1_3:
            assert server.wait_log("session handed to the worker"), server.log()[-3000:]
        else:
            assert server.wait_log("session relayed: not TLS 1.3"), server.log()[-3000:]
        c.logout()
    finally:
        server.stop()
