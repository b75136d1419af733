"""IMAP with real clients, driven without a person: mbsync (isync) syncs a
2,000-message mailbox both ways and then incrementally; mutt reads a message
and saves it to another folder, and waits in IDLE with COMPRESS (parked)
until new mail shows in its index; curl fetches over imaps:// and over
imap:// with STARTTLS; fetchmail downloads over IMAP.

mutt has no batch mode for its index: it needs a terminal even when every
key comes from `push`.  It runs here on a pseudo-terminal, with the keys
pushed from the command line (or typed once its screen shows what the test
waits for) and the server's certificate in its certificate_file so that it
asks nothing.
"""
import glob
import os
import pty
import re
import select
import shutil
import signal
import ssl
import subprocess
import tempfile
import time

import pytest

from imap_util import (ALICE, PASSWORD, append_many, close, connect, corpus, deliver,
                       fetches, search_result, small_message, wait_for, write_mbsyncrc)

MAILBOX_SIZE = 2000


def need(tool):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed (scripts/install-deps test installs it)")


def server_certificate(server, directory):
    """The server's self-signed certificate, as the clients will trust it."""
    pem = ssl.get_server_certificate(("127.0.0.1", server.imaps_port))
    path = os.path.join(directory, "server.pem")
    with open(path, "w") as f:
        f.write(pem)
    return path


def run(argv, timeout=60, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    return r


# ---------- mbsync ----------

def maildir_files(path):
    return sorted(glob.glob(os.path.join(path, "cur", "*")) +
                  glob.glob(os.path.join(path, "new", "*")))


def corpus_index(path):
    with open(path, "rb") as f:
        head = f.read(4096)
    m = re.search(rb"^X-Corpus-Index: (\d+)", head, re.M)
    return int(m.group(1)) if m else None


def maildir_flags(path):
    name = os.path.basename(path)
    return name.split(":2,", 1)[1] if ":2," in name else ""


def make_certificate(directory, name="127.0.0.1"):
    """A self-signed certificate whose subject is the address the clients
    connect to: mbsync checks the name even for a certificate it was told
    to trust, and the server's own certificate names `hostname`."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", key, "-out", cert])
    assert r.returncode == 0, r.stderr
    return cert, key


def test_mbsync_two_way_and_incremental(make):
    need("mbsync")
    tmp = tempfile.mkdtemp(prefix="ravelin-mbsync-")
    cert, key = make_certificate(tmp)
    server = make(f"tls.cert = {cert}\ntls.key = {key}")
    msgs, dates = corpus(MAILBOX_SIZE)
    c = connect(server, timeout=60)
    start = time.monotonic()
    uids = append_many(c, "INBOX", msgs, batch=250, dates=dates)
    assert len(uids) == MAILBOX_SIZE
    append_seconds = time.monotonic() - start

    local = os.path.join(tmp, "mail")
    os.makedirs(local)
    rc = os.path.join(tmp, "mbsyncrc")
    write_mbsyncrc(rc, server.imaps_port, cert, local, pipeline=50)
    env = dict(os.environ, HOME=tmp)

    def sync():
        r = run(["mbsync", "-c", rc, "sync"], timeout=60, env=env)
        assert r.returncode == 0, f"mbsync failed:\n{r.stdout}\n{r.stderr}"
        return r

    start = time.monotonic()
    sync()
    down_seconds = time.monotonic() - start
    inbox = os.path.join(local, "INBOX")
    files = maildir_files(inbox)
    assert len(files) == MAILBOX_SIZE
    by_index = {corpus_index(p): p for p in files}
    assert sorted(by_index) == list(range(MAILBOX_SIZE))
    with open(by_index[3], "rb") as f:
        # A Maildir keeps LF; mbsync adds its own X-TUID header.
        local_copy = re.sub(rb"^X-TUID: .*\n", b"", f.read(), flags=re.M)
        assert local_copy == msgs[3].replace(b"\r\n", b"\n")

    # Changes on both sides: a flag on the server, a deletion and a new
    # message locally.
    c.ok("SELECT INBOX")
    c.ok(f"UID STORE {uids[5]} +FLAGS.SILENT (\\Flagged)")
    os.unlink(by_index[10])
    new_local = (b"From: me@example.org\r\nTo: alice@example.org\r\nSubject: written offline\r\n"
                 b"Message-ID: <offline@ravelin.test>\r\n\r\nMade in the Maildir.\r\n")
    with open(os.path.join(inbox, "new", "1700000000.1_1.laptop"), "wb") as f:
        f.write(new_local)
    start = time.monotonic()
    sync()
    incremental_seconds = time.monotonic() - start

    # The server: the new message is there, the deleted one is gone.
    c.ok("SELECT INBOX")
    r = c.ok("UID SEARCH HEADER Message-ID <offline@ravelin.test>")
    assert len(search_result(r)) == 1, r.exchange()
    r = c.ok("UID SEARCH HEADER Message-ID <corpus-1-10@ravelin.test>")
    assert search_result(r) == [], r.exchange()
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert b"MESSAGES %d" % MAILBOX_SIZE in r.lines("STATUS")[0], r.exchange()
    # The Maildir: the flag came down.
    files = maildir_files(inbox)
    assert len(files) == MAILBOX_SIZE
    by_index = {corpus_index(p): p for p in files}
    assert 10 not in by_index and "F" in maildir_flags(by_index[5]), by_index[5]

    # A message delivered meanwhile comes down on the next run; nothing else moves.
    deliver(server, "late arrival")
    time.sleep(0.5)
    sync()
    assert len(maildir_files(inbox)) == MAILBOX_SIZE + 1
    close(c)
    assert append_seconds < 30 and down_seconds < 45 and incremental_seconds < 20, \
        (append_seconds, down_seconds, incremental_seconds)


# ---------- mutt ----------

def run_on_pty(argv, env, timeout=45):
    """Run argv on a pseudo-terminal, reading (and discarding) its screen
    until it exits.  Returns (exit status, screen output)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    out = bytearray()
    end = time.monotonic() + timeout
    status = None
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                out += data
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(st)
                break
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return status, out.decode(errors="replace")


def write_muttrc(server, tmp, extra=""):
    """A muttrc for alice over IMAPS that asks nothing; extra lines last."""
    rc = os.path.join(tmp, "muttrc")
    with open(rc, "w") as f:
        f.write(f"""set folder = "imaps://{ALICE}@127.0.0.1:{server.imaps_port}/"
set spoolfile = "+INBOX"
set imap_user = "{ALICE}"
set imap_pass = "{PASSWORD}"
set certificate_file = "{server_certificate(server, tmp)}"
set ssl_verify_host = no
set header_cache = ""
set message_cachedir = ""
set record = ""
set postponed = "+Drafts"
set move = no
set delete = yes
set quit = yes
set confirmappend = no
set confirmcreate = no
set wait_key = no
set mark_old = no
set beep = no
set sort = date-received
set imap_check_subscribed = no
set mailcap_path = /dev/null
""" + extra)
    return rc


def test_mutt_reads_and_moves_a_message(server):
    need("mutt")
    tmp = tempfile.mkdtemp(prefix="ravelin-mutt-")
    c = connect(server)
    append_many(c, "INBOX", [small_message(1, "for mutt"), small_message(2, "stays here")])
    rc = write_muttrc(server, tmp)
    # Open the first message (it becomes \\Seen), leave the pager, save it to
    # =Archive (which marks the original deleted), expunge and quit.
    keys = "<display-message><exit><save-message>=Archive<enter><sync-mailbox><quit>"
    env = dict(os.environ, HOME=tmp, TERM="vt100", MAIL="", LANG="C.UTF-8")
    status, screen = run_on_pty(["mutt", "-n", "-F", rc, "-e", f"push '{keys}'"], env)
    assert status == 0, f"mutt exited with {status}:\n{screen[-3000:]}"

    r = c.ok("SELECT INBOX")
    r = c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = [v for f in fetches(r).values() for k, v in f.items() if k.startswith("BODY")]
    assert len(subjects) == 1 and b"stays here" in subjects[0], r.exchange()
    c.ok("SELECT Archive")
    r = c.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    f = fetches(r)
    assert len(f) == 1 and b"for mutt" in f[1]["BODY[HEADER.FIELDS (SUBJECT)]"], r.exchange()
    assert "\\Seen" in f[1]["FLAGS"], r.exchange()
    close(c)


class Terminal:
    """A program on a pseudo-terminal that a test types into: its screen
    output is gathered as it comes."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.screen = bytearray()
        self.status = None

    def read(self, seconds):
        """Gathers output for up to seconds, or until the program exits."""
        end = time.monotonic() + seconds
        while self.status is None and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.fd, 65536)
                except OSError:
                    pass
            done, st = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = os.waitstatus_to_exitcode(st)

    def wait_for(self, text, seconds):
        """True once text has been on the screen (within seconds)."""
        end = time.monotonic() + seconds
        while text.encode() not in self.screen and self.status is None and \
                time.monotonic() < end:
            self.read(0.2)
        return text.encode() in self.screen

    def type(self, keys):
        os.write(self.fd, keys.encode())

    def close(self):
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def test_mutt_in_idle_with_compress_is_parked_and_sees_new_mail(make):
    """mutt with IDLE and COMPRESS=DEFLATE, as a phone's client would hold
    a session all day: parked while it waits, and new mail still reaches
    its index through the compressed stream."""
    need("mutt")
    server = make("log.level = debug\nimap.park_delay = 300\nworker.idle_timeout = 1\n")
    tmp = tempfile.mkdtemp(prefix="ravelin-mutt-")
    deliver(server, "waiting for more")
    server.wait_inbox(ALICE, 1)
    rc = write_muttrc(server, tmp, "set imap_idle = yes\nset imap_deflate = yes\n"
                                   "set timeout = 1\nset mail_check = 1\n")
    env = dict(os.environ, HOME=tmp, TERM="vt100", MAIL="", LANG="C.UTF-8")
    term = Terminal(["mutt", "-n", "-F", rc], env)
    try:
        assert term.wait_for("waiting for more", 30), term.screen.decode(errors="replace")
        assert wait_for(lambda: "session parked (COMPRESS)" in server.log(), timeout=30), \
            server.log()[-3000:]
        deliver(server, "arrived while parked")
        assert term.wait_for("arrived while parked", 30), \
            term.screen.decode(errors="replace")[-3000:]
        term.type("q")
        term.read(15)
        assert term.status == 0, term.screen.decode(errors="replace")[-3000:]
    finally:
        term.close()
    assert server.wait_log("parked session taken up"), server.log()[-3000:]
    assert "unusable" not in server.log(), server.log()[-3000:]


# ---------- curl ----------

def test_curl_fetches_over_imaps_and_starttls(server):
    need("curl")
    c = connect(server)
    uids = append_many(c, "INBOX", [small_message(1, "curl one"), small_message(2, "curl two")])
    close(c)
    auth = ["--user", f"{ALICE}:{PASSWORD}", "--insecure", "--silent", "--show-error",
            "--max-time", "30"]
    base = f"imaps://127.0.0.1:{server.imaps_port}/"
    r = run(["curl", *auth, f"{base}INBOX;UID={uids[1]}"])
    assert r.returncode == 0, r.stderr
    assert "Subject: curl two" in r.stdout and "message number 2" in r.stdout, r.stdout
    r = run(["curl", *auth, base])                   # LIST
    assert r.returncode == 0 and "INBOX" in r.stdout and "Archive" in r.stdout, r.stdout + r.stderr
    r = run(["curl", *auth, f"{base}INBOX?SUBJECT%20%22curl%20one%22"])    # SEARCH
    assert r.returncode == 0 and f"SEARCH {uids[0]}" in r.stdout.replace("\r", ""), \
        r.stdout + r.stderr
    # STARTTLS on the plain port, then the same fetch.
    r = run(["curl", *auth, "--ssl-reqd",
             f"imap://127.0.0.1:{server.imap_port}/INBOX;UID={uids[0]}"])
    assert r.returncode == 0 and "Subject: curl one" in r.stdout, r.stdout + r.stderr


# ---------- fetchmail ----------

def test_fetchmail_over_imap(server):
    need("fetchmail")
    c = connect(server)
    append_many(c, "INBOX", [small_message(i, f"fetch {i}") for i in range(3)])
    tmp = tempfile.mkdtemp(prefix="ravelin-fetchmail-")
    out = os.path.join(tmp, "mbox")
    rc = os.path.join(tmp, "fetchmailrc")
    with open(rc, "w") as f:
        f.write(f'poll 127.0.0.1 protocol imap service {server.imaps_port}\n'
                f'  user "{ALICE}" password "{PASSWORD}"\n'
                f"  ssl sslproto 'tls1.2+' no sslcertck\n"
                f'  mda "cat >> {out}"\n')
    os.chmod(rc, 0o600)
    r = run(["fetchmail", "-f", rc, "--nosyslog", "--nodetach", "-v"],
            env=dict(os.environ, HOME=tmp))
    assert r.returncode == 0, r.stdout + r.stderr
    with open(out, "rb") as f:
        mbox = f.read()
    assert mbox.count(b"Subject: fetch ") == 3
    # Fetched messages are deleted (no 'keep').
    r = c.ok("STATUS INBOX (MESSAGES)")
    assert b"MESSAGES 0" in r.lines("STATUS")[0], r.exchange()
    close(c)
