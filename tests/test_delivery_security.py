"""Delivery and the accounts it may touch.

The account a message is delivered to comes from auth, under its seal
(a pre-auth process that names another account is refused: see the unit
test src/queue/test-queue-rcpt.c, which sends the queue forged, replayed
and re-addressed recipients); a worker is handed the message only, never
the envelope that names every recipient, Bcc included.
"""
import os
import smtplib
import threading
import time


def children(s):
    """pid -> command line of each child of the server's master."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != s.proc.pid:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                out[int(pid)] = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            pass
    return out


def workers(s):
    return {pid: cmd for pid, cmd in children(s).items() if "worker" in cmd}


def worker_descriptors(s):
    """Where each open descriptor of every live worker points."""
    seen = set()
    for pid in workers(s):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    seen.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
                except OSError:
                    pass
        except OSError:
            pass
    return seen


def test_bcc_recipient_is_never_shown_to_another_account(server):
    """alice gets the message, bob a Bcc of it: alice's store has nothing
    of bob, and no worker is ever handed the spool file (whose envelope
    names both) but a copy of the message alone."""
    # Big enough that the workers hold the descriptor a while.
    filler = ("x" * 76 + "\r\n") * (8 * 1024 * 1024 // 78)
    msg = ("From: carol@elsewhere.test\r\nTo: alice@example.org\r\n"
           "Subject: private\r\n\r\n" + filler)
    seen = set()
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.update(worker_descriptors(server))
            time.sleep(0.002)
    t = threading.Thread(target=watch)
    t.start()
    try:
        with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
            c.sendmail("carol@elsewhere.test", ["alice@example.org", "bob@example.org"], msg)
        server.wait_inbox("alice@example.org", 1, timeout=60)
        server.wait_inbox("bob@example.org", 1, timeout=60)
    finally:
        done.set()
        t.join()
    alice = server.inbox_messages("alice@example.org")[0]
    bob = server.inbox_messages("bob@example.org")[0]
    assert b"bob@example.org" not in alice
    for stored in (alice, bob):
        assert b"RAVELIN-SPOOL" not in stored and b"\nrcpt " not in stored
    spool = os.path.join(server.data, "spool")
    assert not [p for p in seen if p.startswith(spool)], seen
    assert any("memfd:ravelin-message" in p for p in seen), seen
