"""Started as root, no process but master runs as root.  With `user` empty
each kind of process and each account's worker has a uid of its own, so the
kernel's ordinary permission checks keep accounts apart even without
Landlock; with `user` set every child runs as that one user.  Started
unprivileged, the log says which separations could not be made."""
import imaplib
import os
import re
import smtplib
import subprocess
import sys
import tempfile

import pytest

from conftest import BIN, ENV, Server, make_server
from imap_util import CTX

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

ROLES = ("spawner", "auth", "queue", "keys")


def processes(server):
    """(uid, args) of every process of the server (master's session)."""
    ps = subprocess.run(["ps", "-o", "uid=,args=", "-g", str(server.proc.pid)],
                        capture_output=True, text=True).stdout
    out = []
    for line in ps.splitlines():
        uid, args = line.split(None, 1)
        out.append((int(uid), args))
    return out


def uids_by_kind(server):
    """kind -> set of uids: master, the roles, preauth, and worker N."""
    kinds = {}
    for uid, args in processes(server):
        m = re.search(r"--role (\w+)(?: --account (\d+))?", args)
        if m and m.group(1) == "worker":
            kind = f"worker {m.group(2)}"
        elif m:
            kind = m.group(1)
        elif args.startswith("ravelin preauth"):
            kind = "preauth"
        elif " serve " in args + " ":
            kind = "master"
        else:
            continue
        kinds.setdefault(kind, set()).add(uid)
    return kinds


def deliver(server, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.sendmail("s@remote.test", [rcpt], f"Subject: {subject}\r\n\r\nhello\r\n")


def account_id(server, address):
    return os.path.basename(server.account_dir(address))


def as_uid(uid, code):
    """Runs python code as uid (gid the same, no groups); its output."""
    r = subprocess.run([sys.executable, "-c", code], user=uid, group=uid, extra_groups=[],
                       capture_output=True, text=True, timeout=30, cwd="/")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture
def separated():
    """A server started as root with `user` empty, both accounts' workers
    running (each got a message)."""
    s = make_server()
    # The server needs no way through the test's 0700 folder; the probes
    # below, run as a worker's uid with absolute paths, do.
    os.chmod(s.tmp, 0o711)
    s.start()
    try:
        deliver(s, "alice@example.org", "for alice")
        deliver(s, "bob@example.org", "for bob")
        s.wait_inbox("alice@example.org", 1)
        s.wait_inbox("bob@example.org", 1)
        yield s
    finally:
        s.stop()


def test_with_user_empty_no_child_runs_as_root(separated):
    s = separated
    # A login over IMAPS still works, and reads what was delivered.
    c = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=CTX, timeout=10)
    try:
        c.login("alice@example.org", "secret-pass")
        typ, data = c.select("INBOX")
        assert typ == "OK" and data[0] == b"1", data
        kinds = uids_by_kind(s)
    finally:
        c.logout()
    alice, bob = account_id(s, "alice@example.org"), account_id(s, "bob@example.org")
    assert kinds.get("master") == {0}, kinds
    for kind, uids in kinds.items():
        if kind != "master":
            assert 0 not in uids, (kind, kinds)
    for kind in ROLES + ("preauth", f"worker {alice}", f"worker {bob}"):
        assert len(kinds.get(kind, ())) == 1, (kind, kinds)
    # One uid per kind of process; pre-auth processes share the spawner's.
    assert kinds["preauth"] == kinds["spawner"], kinds
    distinct = [next(iter(kinds[k])) for k in ROLES + (f"worker {alice}", f"worker {bob}")]
    assert len(set(distinct)) == len(distinct), kinds
    # Each process owns the folder it writes, and an account's is its own.
    (alice_uid,) = kinds[f"worker {alice}"]
    st = os.stat(s.account_dir("alice@example.org"))
    assert st.st_uid == alice_uid and st.st_gid == alice_uid
    assert st.st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(s.account_dir("alice@example.org"), "store.db")).st_uid \
        == alice_uid
    assert os.stat(os.path.join(s.data, "directory")).st_uid in kinds["auth"]
    assert os.stat(os.path.join(s.data, "spool")).st_uid in kinds["queue"]
    assert re.search(r"info: children run as uids of their own: spawner \d+, auth \d+", s.log())


def test_a_worker_uid_cannot_read_another_account(separated):
    s = separated
    kinds = uids_by_kind(s)
    (alice_uid,) = kinds[f"worker {account_id(s, 'alice@example.org')}"]
    own = os.path.join(s.account_dir("alice@example.org"), "store.db")
    other = os.path.join(s.account_dir("bob@example.org"), "store.db")
    code = ("import sys\n"
            "open(sys.argv[1], 'rb').close()\n"
            "try:\n"
            "    open(sys.argv[2], 'rb')\n"
            "    print('opened')\n"
            "except PermissionError:\n"
            "    print('refused')\n")
    r = subprocess.run([sys.executable, "-c", code, own, other], user=alice_uid,
                       group=alice_uid, extra_groups=[], capture_output=True, text=True,
                       timeout=30, cwd="/")
    assert r.returncode == 0, r.stderr  # its own store opens
    assert r.stdout.strip() == "refused"


def test_a_worker_uid_cannot_signal_another_worker(separated):
    s = separated
    pids = {}
    for line in subprocess.run(["ps", "-o", "uid=,pid=,args=", "-g", str(s.proc.pid)],
                               capture_output=True, text=True).stdout.splitlines():
        uid, pid, args = line.split(None, 2)
        m = re.search(r"--role worker --account (\d+)", args)
        if m:
            pids[m.group(1)] = (int(uid), int(pid))
    alice_uid, _ = pids[account_id(s, "alice@example.org")]
    _, bob_pid = pids[account_id(s, "bob@example.org")]
    out = as_uid(alice_uid, "import errno, os, signal\n"
                            "try:\n"
                            f"    os.kill({bob_pid}, signal.SIGKILL)\n"
                            "    print('killed')\n"
                            "except PermissionError:\n"
                            "    print('EPERM')\n")
    assert out == "EPERM"
    os.kill(bob_pid, 0)  # still there


def test_an_account_past_the_worker_range_is_not_served():
    s = make_server()
    # Room for account 1 (alice) only: bob's worker would pass the top uid.
    s.extra_config = "worker.uid_base = 2147352574"
    s.write_config()
    s.start()
    try:
        deliver(s, "alice@example.org", "fits")
        s.wait_inbox("alice@example.org", 1)
        deliver(s, "bob@example.org", "does not fit")
        bob = account_id(s, "bob@example.org")
        for _ in range(100):
            if f"account {bob} has no uid for its worker" in s.log():
                break
            subprocess.run(["sleep", "0.1"])
        assert re.search(rf"account {bob} has no uid for its worker: worker.uid_base "
                         r"2147352574 leaves room for account ids 1 to 1", s.log()), s.log()
        assert s.inbox_count("bob@example.org") == 0
    finally:
        s.stop()


def test_children_run_as_the_configured_user():
    server = make_server("user = nobody")
    server.start()
    try:
        deliver(server, "alice@example.org", "as nobody")
        server.wait_inbox("alice@example.org", 1)
        kinds = uids_by_kind(server)
        nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True,
                                    text=True).stdout)
        assert kinds["master"] == {0}, kinds
        for kind in ROLES + ("preauth",):
            assert kinds.get(kind) == {nobody}, kinds
        assert [u for k, u in kinds.items() if k.startswith("worker")] == [{nobody}], kinds
        assert "warn: every child runs as user nobody: processes and accounts are not " \
               "separated by uid" in server.log()
    finally:
        server.stop()


def test_unprivileged_start_says_what_is_not_separated():
    tmp = tempfile.mkdtemp(prefix="ravelin-unpriv-")
    s = Server(tmp)
    os.chmod(tmp, 0o755)
    nobody = int(subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True).stdout)
    os.chown(tmp, nobody, -1)
    os.chown(s.config_path, nobody, -1)
    # Started as Server.start does (new ports if one was taken meanwhile).
    s.start(user=nobody, group="nogroup", extra_groups=[], cwd=tmp)
    try:
        assert uids_by_kind(s)["master"] == {nobody}
        assert f"info: running unprivileged as uid {nobody}: processes and accounts are " \
               "not separated by uid (Landlock and seccomp still confine them)" in s.log()
    finally:
        s.stop()


def test_ids_a_user_namespace_lacks_are_refused_at_start():
    # Root in a namespace that maps one id, as in a container whose map
    # holds fewer ids than Ravelin's: it says so instead of children dying.
    if subprocess.run(["unshare", "-U", "-r", "true"]).returncode != 0:
        pytest.skip("no user namespaces")
    tmp = tempfile.mkdtemp(prefix="ravelin-userns-")
    s = Server(tmp)
    r = subprocess.run(["unshare", "-U", "-r", BIN, "serve", "--config", s.config_path],
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode != 0
    assert "id 2000000000 is not mapped in this user namespace" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(s.data, "directory")), "nothing is made first"



def test_a_new_account_folder_is_its_workers_alone():
    """`account add` run as root makes the account's store, then gives the
    folder to the account's worker, fan-out folders of its message files
    included, also when the folder's top is the worker's already: another
    `account add` run at the same moment walks every account's folder
    first and may give the top away while the store is still being made."""
    s = make_server()
    try:
        s.add_account("first@example.org")
        accounts = os.path.join(s.data, "accounts")
        first = max(int(n) for n in os.listdir(accounts) if n.isdigit())
        first_uid = os.lstat(os.path.join(accounts, str(first))).st_uid
        assert first_uid != 0
        # What the other command's walk leaves: the next account's folder,
        # empty and already its worker's.
        nxt = os.path.join(accounts, str(first + 1))
        os.mkdir(nxt, 0o700)
        os.chown(nxt, first_uid + 1, first_uid + 1)
        s.add_account("second@example.org")
        assert s.account_dir("second@example.org") == nxt
        for root, dirs, files in os.walk(nxt):
            for f in dirs + files:
                st = os.lstat(os.path.join(root, f))
                assert (st.st_uid, st.st_gid) == (first_uid + 1,) * 2, os.path.join(root, f)
    finally:
        s.stop()
