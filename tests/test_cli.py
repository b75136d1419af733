"""The administrator's commands and the configuration file."""
import os
import subprocess
import tempfile
import time

from conftest import BIN, ENV, Server


def run(*args, input=None):
    return subprocess.run([BIN, *args], input=input, capture_output=True, text=True,
                          env=ENV, timeout=60)


def test_domain_account_alias_lifecycle():
    data = tempfile.mkdtemp(prefix="ravelin-cli-")
    d = ["--data", data]
    assert run("domain", "add", "corp.test", *d).returncode == 0
    assert run("domain", "add", "corp.test", *d).returncode != 0
    assert "corp.test" in run("domain", "list", *d).stdout
    r = run("account", "add", "Ann@Corp.test", *d, input="pw-one\n")
    assert r.returncode == 0, r.stderr
    pwfile = os.path.join(data, "pw")
    with open(pwfile, "w") as f:
        f.write("pw-two\n")
    assert run("account", "add", "ben@corp.test", "--password-file", pwfile, *d).returncode == 0
    r = run("account", "add", "x@nowhere.test", *d, input="pw\n")
    assert r.returncode != 0 and "no domain nowhere.test" in r.stderr
    listing = run("account", "list", *d).stdout
    assert "ann@corp.test" in listing and "ben@corp.test" in listing
    show = run("account", "show", "ann@corp.test", *d).stdout
    for box in ("INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert box in show
    assert "\\Sent" in show
    assert run("account", "passwd", "ann@corp.test", *d, input="pw-three\n").returncode == 0
    assert run("alias", "add", "sales@corp.test", "ann@corp.test", "ben@corp.test",
               *d).returncode == 0
    # A target elsewhere is forwarded there; one of ours must exist.
    r = run("alias", "add", "ext@corp.test", "someone@elsewhere.test", *d)
    assert r.returncode == 0, r.stderr
    assert "someone@elsewhere.test" in run("alias", "list", *d).stdout
    r = run("alias", "add", "bad@corp.test", "nobody@corp.test", *d)
    assert r.returncode != 0 and "not a local account" in r.stderr
    assert "sales@corp.test" in run("alias", "list", *d).stdout
    r = run("domain", "del", "corp.test", *d)
    assert r.returncode != 0 and "delete them first" in r.stderr
    assert run("alias", "del", "sales@corp.test", *d).returncode == 0
    r = run("account", "del", "ann@corp.test", *d)
    assert r.returncode == 0 and "kept in" in r.stdout
    assert "ann@corp.test" not in run("account", "list", *d).stdout


def test_config_refuses_unknown_keys_and_out_of_range_values():
    tmp = tempfile.mkdtemp(prefix="ravelin-conf-")
    conf = os.path.join(tmp, "bad.conf")
    with open(conf, "w") as f:
        f.write(f"data = {tmp}/data\nlisten.smpt = 127.0.0.1:2525\n")
    r = run("serve", "--config", conf)
    assert r.returncode != 0 and "listen.smpt" in r.stderr and ":2:" in r.stderr
    with open(conf, "w") as f:
        f.write(f"data = {tmp}/data\nsmtp.max_recipients = 100001\n")
    r = run("serve", "--config", conf)
    assert r.returncode != 0 and "smtp.max_recipients" in r.stderr
    assert "smtp.max_message_size" in run("config").stdout


def test_first_start_makes_certificate_and_demo_account():
    tmp = tempfile.mkdtemp(prefix="ravelin-first-")
    s = Server(tmp)
    # Embedded defaults, as `make run` starts it, but on a free port.
    conf = None
    p = subprocess.Popen([BIN, "serve", "--data", s.data], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=ENV, cwd=tmp, text=True,
                         start_new_session=True)
    try:
        out = ""
        for _ in range(50):
            line = p.stdout.readline()
            out += line
            if "password:" in line:
                break
        assert "demo@example.org" in out and "password:" in out
        assert os.path.exists(os.path.join(s.data, "tls", "cert.pem"))
        assert oct(os.stat(os.path.join(s.data, "tls", "key.pem")).st_mode & 0o777) == "0o600"
    finally:
        p.terminate()
        p.wait(timeout=15)
    del conf


def test_queue_list_shows_waiting_mail_until_delivered():
    from conftest import make_server
    s = make_server()
    assert "queue is empty" in s.cli("queue", "list").stdout
    account = s.account_dir("alice@example.org").rsplit("/", 1)[1]
    qid = "0000000010000000000001"
    os.makedirs(os.path.join(s.data, "spool", "q"), exist_ok=True)
    with open(os.path.join(s.data, "spool", "q", qid), "wb") as f:
        f.write(f"RAVELIN-SPOOL 1\nfrom sender@remote.test\nflags 0\narrived 1700000000\n"
                f"rcpt {account} alice@example.org\n\n".encode())
        f.write(b"Subject: waited in the queue\r\n\r\nbody\r\n")
    out = s.cli("queue", "list").stdout
    assert qid in out and "<sender@remote.test>" in out and "alice@example.org" in out
    assert "1 messages waiting" in out
    s.start()
    try:
        s.wait_inbox("alice@example.org", 1)
        end = time.monotonic() + 10
        while "queue is empty" not in s.cli("queue", "list").stdout and time.monotonic() < end:
            time.sleep(0.1)
        assert "queue is empty" in s.cli("queue", "list").stdout
    finally:
        s.stop()
