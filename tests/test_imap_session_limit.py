"""The per-account limit of IMAP sessions (IPC_ACCOUNT_MAX_IMAP_SESSIONS,
100): the login of one more is answered with a tagged NO [LIMIT], before
any OK, and a session that ends makes room again."""
import time

import pytest

from imap_util import ALICE, BOB, PASSWORD, Client, close, connect

LIMIT = 100


@pytest.mark.slow(reason="a hundred TLS logins, each an argon2id check")
def test_101st_login_is_refused_before_ok(make):
    server = make("front.max_connections_per_ip = 300\nfront.max_connections = 300")
    held = []
    try:
        for _ in range(LIMIT):
            held.append(connect(server, timeout=60))
        extra = Client(server.imaps_port, timeout=60)
        r = extra.run(f'LOGIN "{ALICE}" "{PASSWORD}"')
        assert r.status == "NO" and r.code == "LIMIT", r.exchange()
        assert not r.untagged, r.exchange()
        # Still not logged in: commands of the authenticated state are refused.
        assert extra.run("SELECT INBOX").status == "BAD"
        # Another account is not affected.
        other = connect(server, user=BOB)
        other.ok("SELECT INBOX")
        close(other)
        # A session that ends makes room; the worker reports it at once.
        close(held.pop())
        deadline = time.monotonic() + 10
        while True:
            r = extra.run(f'LOGIN "{ALICE}" "{PASSWORD}"')
            if r.status == "OK" or time.monotonic() > deadline:
                break
            assert r.code == "LIMIT", r.exchange()
            time.sleep(0.2)
        assert r.status == "OK", r.exchange()
        extra.ok("SELECT INBOX")
        held.append(extra)
        # Every session the account holds works.
        for c in held[:3] + held[-3:]:
            c.ok("NOOP")
        assert "* BYE [LIMIT]" not in server.log()
    finally:
        for c in held:
            close(c)
