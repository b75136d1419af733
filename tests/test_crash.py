"""Nothing acknowledged is lost: kill -9 the whole server while mail flows."""
import random
import re
import smtplib
import threading
import time

from conftest import make_server

MESSAGES = 1000
SENDERS = 8


def test_kill9_during_1000_deliveries_loses_and_duplicates_nothing():
    server = make_server().start()
    acked = set()
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(MESSAGES))

    def sender():
        while not stop.is_set():
            with lock:
                i = next(counter, None)
            if i is None:
                return
            body = (f"From: s@remote.test\r\nTo: alice@example.org\r\n"
                    f"Subject: crash-{i}\r\n\r\nmessage {i}\r\n")
            try:
                with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as c:
                    c.sendmail("s@remote.test", ["alice@example.org"], body)
                with lock:
                    acked.add(i)
            except (OSError, smtplib.SMTPException):
                return  # the server died under us

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    # A random moment while mail flows: after at least some acknowledgements.
    deadline = time.monotonic() + 60
    target = random.randint(50, 600)
    while len(acked) < target and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill9()
    stop.set()
    for t in threads:
        t.join()
    assert acked, "nothing was acknowledged before the kill"

    server.start()
    server.wait_inbox("alice@example.org", len(acked), timeout=60)
    # Let the queue settle: the spool empties once everything is delivered.
    end = time.monotonic() + 60
    while not server.spool_empty() and time.monotonic() < end:
        time.sleep(0.2)
    assert server.spool_empty()
    stored = [re.search(rb"Subject: crash-(\d+)", m).group(1)
              for m in server.inbox_messages("alice@example.org")]
    numbers = [int(s) for s in stored]
    # Exactly once: no duplicates, and every acknowledged message is there.
    assert len(numbers) == len(set(numbers)), "a message was stored twice"
    missing = acked - set(numbers)
    assert not missing, f"acknowledged but lost: {sorted(missing)[:10]}"
    print(f"killed after {len(acked)} acknowledged; {len(numbers)} stored, none twice")
    server.stop()
