"""Every process master starts runs under its role's jail: a seccomp filter,
no_new_privs, and one start-up line that says what Landlock could confine."""
import re
import time
import smtplib
import subprocess

ROLES = ("spawner", "auth", "queue", "keys", "worker")


def children(server):
    """pid -> role of the server's children (master's process group)."""
    ps = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(server.proc.pid)],
                        capture_output=True, text=True).stdout
    found = {}
    for line in ps.splitlines():
        pid, args = line.split(None, 1)
        m = re.search(r"--role (\w+)", args)
        if m:
            found[int(pid)] = m.group(1)
    return found


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_every_child_is_filtered_and_says_how(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.sendmail("s@remote.test", ["alice@example.org"], "Subject: jail\r\n\r\nhi\r\n")
    server.wait_inbox("alice@example.org", 1)
    # Every role has said it is jailed (the relay spawner reads the CA
    # roots first, and may come last).
    end = time.monotonic() + 20
    while time.monotonic() < end and not all(
            re.search(rf"info: jailed as {role}: ", server.log())
            for role in set(ROLES) | set(children(server).values())):
        time.sleep(0.1)
    found = children(server)
    assert set(found.values()) >= set(ROLES), found
    for pid, role in found.items():
        st = status(pid)
        assert st["Seccomp"].strip() == "2", (role, st["Seccomp"])  # filter mode
        assert st["NoNewPrivs"].strip() == "1", role
    log = server.log()
    for role in ROLES:
        lines = re.findall(rf"info: jailed as {role}: landlock ABI (\d+):[^\n]*; "
                           r"seccomp allow-list", log)
        assert lines, f"no start-up jail line for {role}:\n{log}"
