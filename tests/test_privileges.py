"""Started as root with `user` set, every process but master runs as that user."""
import os
import smtplib
import subprocess

import pytest

from conftest import make_server

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_children_run_as_the_configured_user():
    server = make_server("user = nobody")
    os.chmod(server.tmp, 0o755)  # nobody must be able to reach DATA
    server.start()
    try:
        with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
            c.sendmail("s@remote.test", ["alice@example.org"],
                       "Subject: as nobody\r\n\r\nhello\r\n")
        server.wait_inbox("alice@example.org", 1)
        ps = subprocess.run(["ps", "-o", "user=,args=", "-g", str(server.proc.pid)],
                            capture_output=True, text=True).stdout
        roles = {}
        for line in ps.splitlines():
            user, args = line.split(None, 1)
            for role in ("spawner", "auth", "queue", "worker"):
                if f"--role {role}" in args:
                    roles.setdefault(role, set()).add(user)
            if "serve" in args:
                roles.setdefault("master", set()).add(user)
        assert roles["master"] == {"root"}, ps
        for role in ("spawner", "auth", "queue", "worker"):
            assert roles.get(role) == {"nobody"}, ps
    finally:
        server.stop()
