"""Integration test harness: a real `ravelin serve` on loopback ports.

Each test gets its own data directory and ports; the server is started
exactly as an administrator would (ravelin domain/account add, done once per
configuration and copied, then ravelin serve --config FILE) and stopped with
SIGTERM afterwards.
"""
import fcntl
import os
import re
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest

BIN = os.environ.get("RAVELIN_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "build", "ravelin")
# Sanitizer reports belong in the log; leak checks cannot run under the
# jail (Landlock forbids /proc), so they are done by the unit tests.
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow(reason): a test that takes long on purpose (the reason says why)")


# Test files that bind fixed addresses (port 25 of 127.0.0.2 and .3, the
# MTA-STS web server's 443, a plain SMTP peer): under `pytest -n`, one test of
# these at a time on the whole machine, whichever process runs it.
FIXED_ADDRESS_MODULES = {"test_forward", "test_outbound", "test_scheduling",
                         "test_tls_out", "test_tlspolicy_tools"}
FIXED_ADDRESS_LOCK = "/tmp/ravelin-tests-fixed-addresses.lock"


@pytest.fixture(autouse=True)
def fixed_addresses(request):
    if request.module.__name__.rsplit(".", 1)[-1] not in FIXED_ADDRESS_MODULES:
        yield
        return
    with open(FIXED_ADDRESS_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(100)
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


# The relay loads relay.ca_file at start; the system's bundle (about 150
# certificates) costs the ASan build 0.3 s of CPU each time, and no test
# reaches a host with a public certificate: a file of one certificate of
# our own stands in (the tests of the relay's trust set theirs after it).
RELAY_CA = None


def relay_ca_file():
    global RELAY_CA
    if RELAY_CA is None:
        tmp = tempfile.mkdtemp(prefix="ravelin-relay-ca-")
        cert = os.path.join(tmp, "ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
                        "-subj", "/CN=Ravelin tests, trusted by nothing",
                        "-keyout", os.path.join(tmp, "ca.key"), "-out", cert],
                       check=True, capture_output=True)
        # A server run as nobody (test_admin) reads it too.
        os.chmod(tmp, 0o755)
        os.chmod(cert, 0o644)
        RELAY_CA = cert
    return RELAY_CA


# How long one command of the CLI may take: only a wait for one that hangs.
# `account add` (argon2id under the sanitizers), eight at once, took over
# 60 s at load 25.
CLI_WAIT = 300


class Server:
    def __init__(self, tmp, extra_config=""):
        self.tmp = tmp
        # mkdtemp makes tmp 0700: the processes, which run as uids of their
        # own, enter DATA before they drop root, so that must not matter.
        self.data = os.path.join(tmp, "data")
        self.smtp_port = free_port()
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.submission_port = free_port()
        self.submissions_port = free_port()
        self.https_port = free_port()
        self.http_port = free_port()
        self.config_path = os.path.join(tmp, "ravelin.conf")
        self.extra_config = extra_config
        self.proc = None
        self.log_path = os.path.join(tmp, "serve.log")
        self.write_config()

    def write_config(self):
        with open(self.config_path, "w") as f:
            f.write(f"data = {self.data}\nhostname = mx.test\n"
                    f"listen.smtp = 127.0.0.1:{self.smtp_port}\n"
                    f"listen.pop3 = 127.0.0.1:{self.pop3_port}\n"
                    f"listen.pop3s = 127.0.0.1:{self.pop3s_port}\n"
                    f"listen.imap = 127.0.0.1:{self.imap_port}\n"
                    f"listen.imaps = 127.0.0.1:{self.imaps_port}\n"
                    f"listen.submission = 127.0.0.1:{self.submission_port}\n"
                    f"listen.submissions = 127.0.0.1:{self.submissions_port}\n"
                    f"listen.https = 127.0.0.1:{self.https_port}\n"
                    f"listen.http = 127.0.0.1:{self.http_port}\n"
                    f"front.processes = 2\nlog.level = info\n"
                    f"queue.retry_delay = 1\nqueue.retry_schedule = 1s\nworker.idle_timeout = 5\n"
                    f"relay.ca_file = {relay_ca_file()}\n"
                    f"{self.extra_config}\n")

    def cli(self, *args, input=None, check=True):
        r = subprocess.run([BIN, *args, "--config", self.config_path],
                           input=input, capture_output=True, text=True, env=ENV,
                           timeout=CLI_WAIT)
        if check and r.returncode != 0:
            raise AssertionError(f"ravelin {' '.join(args)} failed: {r.stderr}")
        return r

    def add_account(self, address, password="secret-pass"):
        return self.cli("account", "add", address, input=password + "\n")

    def pick_ports(self):
        """New free loopback ports for every listener (one picked before
        may have been taken since, by a client's source port)."""
        for name in ("smtp", "pop3", "pop3s", "imap", "imaps", "submission",
                     "submissions", "https", "http"):
            setattr(self, name + "_port", free_port())

    def start(self, **popen):
        """Starts `ravelin serve` (popen: more of subprocess.Popen's
        arguments, such as the user to run as)."""
        # A port picked free can be taken by another process before the
        # server binds it (the server then stops): pick new ones and retry.
        for attempt in range(3):
            self.logf = open(self.log_path, "a")
            self.proc = subprocess.Popen([BIN, "serve", "--config", self.config_path],
                                         stdout=self.logf, stderr=subprocess.STDOUT,
                                         env=ENV, start_new_session=True, **popen)
            try:
                wait_port(self.smtp_port, proc=self.proc)
                return self
            except TimeoutError:
                if self.proc.poll() is None or attempt == 2:
                    raise
                self.proc = None
                self.pick_ports()
                self.write_config()
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        self.logf.close()

    def kill9(self):
        """Kill the whole process tree at once, like a power cut."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        # Children die with the group; make sure none lingers.
        time.sleep(0.2)
        self.proc = None
        self.logf.close()

    def log(self):
        """What the server wrote; nothing if it never started."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=15):
        """Whether TEXT shows in the log within TIMEOUT seconds. Children's
        records reach the log through master, so a line a child wrote
        before it answered the client may land a moment after the answer."""
        deadline = time.monotonic() + timeout
        while True:
            if text in self.log():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def account_dir(self, address):
        out = self.cli("account", "show", address).stdout
        m = re.search(r"\(account (\d+)\)", out)
        return os.path.join(self.data, "accounts", m.group(1))

    def inbox_count(self, address):
        out = self.cli("account", "show", address).stdout
        m = re.search(r"^\s*INBOX\s+(\d+) messages", out, re.M)
        return int(m.group(1))

    def inbox_messages(self, address):
        """The INBOX messages' bytes in UID order, read from the store."""
        d = self.account_dir(address)
        db = sqlite3.connect(f"file:{d}/store.db?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT m.blob FROM messages m JOIN mailboxes b "
                "ON m.mailbox_id = b.id WHERE b.name = 'INBOX' ORDER BY m.uid").fetchall()
        finally:
            db.close()
        out = []
        for (h,) in rows:
            with open(os.path.join(d, "blobs", h[:2], h), "rb") as f:
                out.append(f.read())
        return out

    def store_inbox_rows(self, folder):
        """The INBOX rows in the account folder's store (a cheap look, for
        waiting), or None if it cannot be read now."""
        try:
            db = sqlite3.connect(f"file:{folder}/store.db?mode=ro", uri=True, timeout=1)
            try:
                return db.execute(
                    "SELECT count(*) FROM messages m JOIN mailboxes b "
                    "ON m.mailbox_id = b.id WHERE b.name = 'INBOX'").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:
            return None

    def wait_inbox(self, address, count, timeout=30):
        """Waits until `account show` counts count messages in address's
        INBOX.  The command (an ASan start and CPU the server could use)
        runs when the store's rows say it may be so, and once a second."""
        end = time.monotonic() + timeout
        n = -1
        folder = self.account_dir(address)
        asked = 0
        while time.monotonic() < end:
            rows = self.store_inbox_rows(folder)
            if rows is None or rows >= count or time.monotonic() - asked >= 1:
                asked = time.monotonic()
                n = self.inbox_count(address)
                if n >= count:
                    return n
            time.sleep(0.05)
        raise AssertionError(f"{address}: {n} messages in INBOX, expected {count}")

    def spool_empty(self):
        q = os.path.join(self.data, "spool", "q")
        return not os.path.isdir(q) or not os.listdir(q)


# The data directory `ravelin domain add` and two `ravelin account add` make,
# one per configuration: those three commands (an ASan start each, argon2id
# twice) cost more than starting the server, so a test's server starts from
# a copy (cp -a: the owners, the workers' uids, stay).
DATA_TEMPLATES = {}


def data_template(extra_config):
    if extra_config not in DATA_TEMPLATES:
        s = Server(tempfile.mkdtemp(prefix="ravelin-template-"), extra_config)
        s.cli("domain", "add", "example.org")
        s.add_account("alice@example.org")
        s.add_account("bob@example.org")
        DATA_TEMPLATES[extra_config] = s.data
    return DATA_TEMPLATES[extra_config]


def make_server(extra_config=""):
    tmp = tempfile.mkdtemp(prefix="ravelin-test-")
    s = Server(tmp, extra_config)
    subprocess.run(["cp", "-a", data_template(extra_config), s.data], check=True)
    return s


@pytest.fixture
def server():
    s = make_server().start()
    yield s
    s.stop()
    check_no_sanitizer_reports(s)


@pytest.fixture
def make():
    """Factory for servers with extra configuration lines."""
    made = []

    def factory(extra_config="", start=True):
        s = make_server(extra_config)
        made.append(s)
        return s.start() if start else s
    yield factory
    for s in made:
        s.stop()
        check_no_sanitizer_reports(s)


def server_pids(server, pattern):
    """The pids of server's live processes (its process group, zombies
    left out) whose command line matches the regular expression pattern.
    Read from /proc, where a process may end while it is read: it is
    left out then.  Under `pytest -n` several servers run at once, so a
    look by name alone (pgrep) finds other servers' processes too, which
    may be gone a moment later."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[0] == "Z" or int(fields[2]) != server.proc.pid:
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if re.search(pattern, cmd):
            found.append(int(name))
    return found


def server_pid(server, pattern, timeout=60):
    """The one live process of server whose command line matches pattern,
    waited for until it is the only one (a worker that retired may still
    be ending beside the one that took its place)."""
    end = time.monotonic() + timeout
    while True:
        pids = server_pids(server, pattern)
        if len(pids) == 1 or time.monotonic() > end:
            assert len(pids) == 1, f"{pattern}: {pids}"
            return pids[0]
        time.sleep(0.1)


def check_no_sanitizer_reports(s):
    log = s.log()
    assert "ERROR: AddressSanitizer" not in log, log[-4000:]
    assert "runtime error:" not in log, log[-4000:]
