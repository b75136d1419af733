"""What a new administrator meets: the command line's answers, a second
server on the same data, certificates that cannot be used, signals."""
import os
import select
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, ENV, Server, make_server, wait_port


def run(*args, input=None, cwd=None):
    return subprocess.run([BIN, *args], input=input, capture_output=True, text=True,
                          env=ENV, timeout=60, cwd=cwd)


def read_until(proc, text, timeout=20):
    """Lines the process printed until one holds text (while it runs)."""
    out = ""
    end = time.monotonic() + timeout
    while time.monotonic() < end and text not in out:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            out += line
    return out


def test_admin_commands_refuse_a_data_folder_that_does_not_exist():
    tmp = tempfile.mkdtemp(prefix="ravelin-nodata-")
    r = run("account", "list", cwd=tmp)
    assert r.returncode != 0 and "data folder ./data" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(tmp, "data"))
    r = run("account", "list", "--data", "/does/not/exist")
    assert r.returncode != 0 and "/does/not/exist" in r.stderr
    assert not os.path.exists("/does/not/exist")
    r = run("queue", "list", "--data", os.path.join(tmp, "nothing"))
    assert r.returncode != 0 and not os.path.exists(os.path.join(tmp, "nothing"))
    # The first step of a set-up makes it.
    assert run("domain", "add", "corp.test", cwd=tmp).returncode == 0
    assert "corp.test" in run("domain", "list", cwd=tmp).stdout


def test_unknown_options_and_extra_arguments_are_usage_errors():
    data = tempfile.mkdtemp(prefix="ravelin-usage-")
    for args in (["account", "list", "--bogus"], ["account", "list", "extra"],
                 ["domain", "list", "extra"], ["alias", "list", "extra"],
                 ["queue", "list", "extra"], ["serve", "extra"], ["config", "extra"],
                 ["account", "show", "a@b.test", "c@d.test"], ["--frobnicate"]):
        for folder in (data, os.path.join(data, "missing")):
            r = run(*args, "--data", folder)
            assert r.returncode == 2, (args, folder, r.returncode, r.stderr)
            assert "usage:" in r.stderr, (args, r.stderr)
        assert not os.path.exists(os.path.join(data, "missing"))


def test_version():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("ravelin ")
    with open(os.path.join(os.path.dirname(__file__), "..", "meson.build")) as f:
        version = f.read().split("version: '", 1)[1].split("'", 1)[0]
    assert r.stdout.strip() == f"ravelin {version}"


def test_quota_of_zero_is_refused():
    s = make_server()
    r = s.cli("account", "quota", "alice@example.org", "0", check=False)
    assert r.returncode == 2 and "'none'" in r.stderr
    assert "quota removed" not in r.stdout
    assert s.cli("account", "quota", "alice@example.org", "none").returncode == 0


def test_second_server_on_the_same_data_stops_naming_the_first(make):
    first = make()
    second = Server(first.tmp)
    second.data = first.data
    second.config_path = os.path.join(first.tmp, "second.conf")
    second.write_config()
    r = subprocess.run([BIN, "serve", "--config", second.config_path], capture_output=True,
                       text=True, env=ENV, timeout=60)
    assert r.returncode != 0
    assert f"pid {first.proc.pid}" in r.stderr, r.stderr
    assert first.proc.poll() is None
    # Once the first is gone, the folder is free again.
    first.stop()
    second.start()
    second.stop()


def serve_refused(s):
    r = subprocess.run([BIN, "serve", "--config", s.config_path], capture_output=True,
                       text=True, env=ENV, timeout=60)
    assert r.returncode != 0
    return r.stderr


def test_a_certificate_that_cannot_be_loaded_stops_the_start():
    tmp = tempfile.mkdtemp(prefix="ravelin-badtls-")
    cert = os.path.join(tmp, "cert.pem")
    key = os.path.join(tmp, "key.pem")
    with open(cert, "w") as f:
        f.write("not a certificate\n")
    s = Server(tmp, f"tls.cert = {cert}\ntls.key = {key}")
    err = serve_refused(s)
    assert f"TLS certificate {cert}" in err and "no start line" in err.lower(), err
    # A usable certificate with a key that is missing.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    os.path.join(tmp, "other.pem"), "-out", cert, "-subj", "/CN=mx.test",
                    "-days", "1"], check=True, capture_output=True)
    err = serve_refused(s)
    assert f"TLS key {key}" in err and "No such file" in err, err
    # A key that is not the certificate's.
    subprocess.run(["openssl", "genpkey", "-algorithm", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-out", key], check=True, capture_output=True)
    err = serve_refused(s)
    assert f"TLS key {key}" in err and "mismatch" in err, err
    # A certificate without its key: named by key, never an empty path.
    s.extra_config = f"tls.cert = {cert}"
    s.write_config()
    err = serve_refused(s)
    assert "tls.cert is set but tls.key is not" in err, err
    assert "''" not in err and " : " not in err


def test_first_start_names_its_certificate_at_once():
    tmp = tempfile.mkdtemp(prefix="ravelin-flush-")
    s = Server(tmp)
    s.cli("domain", "add", "example.org")
    p = subprocess.Popen([BIN, "serve", "--config", s.config_path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=ENV, text=True,
                         start_new_session=True)
    try:
        wait_port(s.smtp_port, proc=p)
        out = read_until(p, "self-signed certificate")
        assert "Made a self-signed certificate for mx.test" in out, out
    finally:
        p.terminate()
        p.wait(timeout=15)


def make_cert(directory, name, cn):
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-subj", f"/CN={cn}", "-days", "1"], check=True, capture_output=True)
    return cert, key


def served_cn(port):
    """The CN of the certificate the IMAPS port shows now."""
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as tls:
            der = tls.getpeercert(binary_form=True)
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"],
                          input=der, capture_output=True, check=True).stdout.decode()
    return text.split("CN", 1)[1].strip(" =\n")


def wait_for(predicate, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_sighup_reloads_certificate_log_file_and_level(make):
    tmp = tempfile.mkdtemp(prefix="ravelin-hup-")
    old_cert, old_key = make_cert(tmp, "old", "old.test")
    new_cert, new_key = make_cert(tmp, "new", "new.test")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    os.rename(old_cert, cert)
    os.rename(old_key, key)
    s = make(f"tls.cert = {cert}\ntls.key = {key}")
    assert served_cn(s.imaps_port) == "old.test"
    # An IMAP session that is logged in lives through the reload.
    import imaplib
    imap = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port,
                             ssl_context=__import__("ssl")._create_unverified_context())
    imap.login("alice@example.org", "secret-pass")
    # The certificate renewed in place, as an ACME client does; the log
    # moved aside, as logrotate does.
    os.rename(new_cert, cert)
    os.rename(new_key, key)
    log = os.path.join(s.data, "log", "ravelin.log")
    os.rename(log, log + ".1")
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: os.path.exists(log) and "reloaded on SIGHUP" in open(log).read())
    assert wait_for(lambda: served_cn(s.imaps_port) == "new.test")
    assert s.proc.poll() is None
    assert imap.noop()[0] == "OK"
    imap.logout()
    # A certificate that does not load is refused; the old one stays.
    with open(cert, "w") as f:
        f.write("garbage\n")
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "TLS keeps the certificate it had" in open(log).read())
    assert served_cn(s.imaps_port) == "new.test"
    # The level: at warn, a login's info line is no longer written.
    with open(s.config_path, "a") as f:
        f.write("log.level = warn\n")
    s.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "log level warn" in open(log).read())
    size = os.path.getsize(log)
    imap = imaplib.IMAP4("127.0.0.1", s.imap_port)
    imap.starttls(ssl_context=__import__("ssl")._create_unverified_context())
    imap.login("alice@example.org", "secret-pass")
    imap.logout()
    time.sleep(0.5)
    with open(log) as f:
        f.seek(size)
        assert " info: " not in f.read()


def test_signals_not_for_us_are_logged_not_fatal(server):
    server.proc.send_signal(signal.SIGUSR1)
    server.proc.send_signal(signal.SIGUSR2)
    assert wait_for(lambda: "signal 12 (User defined signal 2) ignored" in server.log())
    assert server.wait_log("signal 10 without a request"), server.log()[-3000:]
    assert server.proc.poll() is None
    wait_port(server.smtp_port)


def test_root_commands_give_files_to_an_unprivileged_server(tmp_path):
    # The server runs as nobody; the administrator uses sudo.
    if os.geteuid() != 0:
        pytest.skip("needs root")
    import pwd
    import smtplib
    tmp = tempfile.mkdtemp(prefix="ravelin-sudo-")
    s = Server(tmp)
    os.chmod(tmp, 0o755)
    nobody = pwd.getpwnam("nobody")
    os.chown(tmp, nobody.pw_uid, -1)
    # Started as Server.start does (new ports if one was taken meanwhile).
    s.start(user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], cwd=tmp)
    try:
        s.cli("domain", "add", "example.org")
        s.add_account("carol@example.org")
        d = s.account_dir("carol@example.org")
        for name in ("store.db", "blobs"):
            assert os.stat(os.path.join(d, name)).st_uid == nobody.pw_uid, name
        assert os.stat(os.path.join(s.data, "directory", "directory.db")).st_uid == \
            nobody.pw_uid
        with smtplib.SMTP("127.0.0.1", s.smtp_port) as c:
            c.sendmail("x@example.net", ["carol@example.org"], b"Subject: hi\r\n\r\nhi\r\n")
        s.wait_inbox("carol@example.org", 1)
        # The request to end sessions is the unprivileged master's to read.
        carol = imap_login(s, "carol@example.org")
        s.cli("account", "passwd", "carol@example.org", input="new-pass\n")
        assert b"* BYE" in wait_bye(carol)
    finally:
        s.stop()


def rcpt_reply(server, address):
    import smtplib
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.ehlo("client.test")
        c.mail("sender@example.net")
        return c.rcpt(address)


def test_mail_for_other_domains_is_relay_denied(server):
    code, text = rcpt_reply(server, "someone@elsewhere.test")
    assert (code, text[:5]) == (554, b"5.7.1"), (code, text)
    assert b"Relay access denied" in text
    code, text = rcpt_reply(server, "nobody@example.org")
    assert (code, text[:5]) == (550, b"5.1.1"), (code, text)


def test_alias_loops_are_refused_and_answered_for_good(server):
    server.cli("alias", "add", "b@example.org", "alice@example.org")
    server.cli("alias", "add", "a@example.org", "b@example.org")
    r = server.cli("alias", "add", "b@example.org", "a@example.org", check=False)
    assert r.returncode != 0 and "loop" in r.stderr, r.stderr
    assert "a@example.org" not in [l.split()[-1] for l in
                                   server.cli("alias", "list").stdout.splitlines()
                                   if l.startswith("b@")]
    # A loop that is there already (made by hand, or before loops were
    # refused) is a permanent refusal, not 451 for ever.
    import sqlite3
    db = sqlite3.connect(os.path.join(server.data, "directory", "directory.db"))
    with db:
        db.execute("INSERT INTO aliases VALUES('b@example.org', 'a@example.org', 'example.org')")
    db.close()
    code, text = rcpt_reply(server, "a@example.org")
    assert (code, text[:5]) == (550, b"5.4.6"), (code, text)
    assert server.wait_log("aliases loop"), server.log()[-3000:]


def test_postmaster_of_every_domain_is_delivered(server):
    import smtplib
    server.cli("domain", "add", "other.test", "--postmaster", "bob@example.org")
    r = server.cli("domain", "add", "third.test", "--postmaster", "nobody@example.org",
                   check=False)
    assert r.returncode != 0 and "third.test" not in server.cli("domain", "list").stdout
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.sendmail("x@example.net", ["Postmaster@example.org"], b"Subject: a\r\n\r\na\r\n")
        c.sendmail("x@example.net", ["postmaster@other.test"], b"Subject: b\r\n\r\nb\r\n")
    server.wait_inbox("alice@example.org", 1)   # the domain's first account
    server.wait_inbox("bob@example.org", 1)     # the one named


def imap_login(server, user):
    import imaplib
    import ssl
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port,
                             ssl_context=ssl._create_unverified_context())
    imap.login(user, "secret-pass")
    imap.select("INBOX")
    return imap


def wait_bye(imap, timeout=10):
    """What the server sent unasked, until it closed the connection."""
    imap.sock.settimeout(timeout)
    got = b""
    try:
        while True:
            chunk = imap.sock.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    return got


def has_worker(server, account):
    ps = subprocess.run(["ps", "-o", "args=", "-g", str(server.proc.pid)],
                        capture_output=True, text=True).stdout
    return f"--role worker --account {account}" in ps


def test_passwd_and_del_end_the_accounts_sessions(server):
    alice = imap_login(server, "alice@example.org")
    bob = imap_login(server, "bob@example.org")
    r = server.cli("account", "passwd", "alice@example.org", input="new-pass\n")
    assert r.returncode == 0
    assert b"* BYE" in wait_bye(alice)
    # Bob's session is his own: it goes on.
    assert bob.noop()[0] == "OK"
    assert has_worker(server, 2)
    server.cli("account", "del", "bob@example.org")
    assert b"* BYE" in wait_bye(bob)
    assert wait_for(lambda: not has_worker(server, 2))
    assert "account 2 was deleted or its password changed: its sessions are ended" in \
        server.log()
    assert not os.listdir(os.path.join(server.data, "control"))
    # The old password no longer opens a session; the new one does.
    import imaplib
    import ssl
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port,
                             ssl_context=ssl._create_unverified_context())
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("alice@example.org", "secret-pass")
    imap.login("alice@example.org", "new-pass")
    imap.logout()


def test_readme_production_example_serves_what_it_describes():
    """The README's production file, on loopback ports and a test folder,
    starts a listener for SMTP, submission, IMAP and POP3 (the services it
    describes)."""
    import socket
    import ssl
    from conftest import free_port
    with open(os.path.join(os.path.dirname(__file__), "..", "README.md")) as f:
        readme = f.read()
    block = readme.split("A production file", 1)[1].split("\n\n", 2)[1]
    lines = [l.strip() for l in block.splitlines()]
    assert lines[0].startswith("hostname")
    tmp = tempfile.mkdtemp(prefix="ravelin-readme-")
    cert, key = make_cert(tmp, "prod", "mx.example.com")
    ports = {}
    out = []
    for line in lines:
        k, v = [x.strip() for x in line.split("=", 1)]
        if k.startswith("listen."):
            ports[k[len("listen."):]] = free_port()
            v = f"127.0.0.1:{ports[k[len('listen.'):]]}"
        elif k == "data":
            v = os.path.join(tmp, "data")
        elif k == "tls.cert":
            v = cert
        elif k == "tls.key":
            v = key
        out.append(f"{k} = {v}")
    assert {"smtp", "submissions", "imaps", "pop3s"} <= set(ports), ports
    conf = os.path.join(tmp, "ravelin.conf")
    with open(conf, "w") as f:
        f.write("\n".join(out) + "\nfront.processes = 1\n")
    p = subprocess.Popen([BIN, "serve", "--config", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)
    try:
        wait_port(ports["smtp"], proc=p)
        ctx = ssl._create_unverified_context()
        greetings = {"imaps": b"* OK", "pop3s": b"+OK", "submissions": b"220 "}
        for service, greeting in greetings.items():
            with socket.create_connection(("127.0.0.1", ports[service]), timeout=10) as raw:
                with ctx.wrap_socket(raw) as tls:
                    assert tls.recv(100).startswith(greeting), service
    finally:
        p.terminate()
        p.wait(timeout=15)


def test_log_names_client_tls_size_refusals_and_login_protocol(make):
    import imaplib
    import re
    import smtplib
    import ssl
    server = make("smtp.max_message_size = 100000")
    ctx = ssl._create_unverified_context()
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.starttls(context=ctx)
        c.ehlo("client.test")
        c.mail("x@example.net")
        assert c.rcpt("nobody@example.org")[0] == 550
        assert c.rcpt("alice@example.org")[0] == 250
        assert c.data(b"Subject: hi\r\n\r\n" + b"x" * 1000 + b"\r\n")[0] == 250
        assert c.mail("x@example.net", ["SIZE=200000"])[0] == 552
        c.rset()
        c.mail("x@example.net")
        c.rcpt("alice@example.org")
        assert c.data(b"Subject: big\r\n\r\n" + b"y" * 150000 + b"\r\n")[0] == 552
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=ctx)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("alice@example.org", "wrong")
    imap.login("alice@example.org", "secret-pass")
    imap.logout()
    for text in ("IMAPS login accepted (TLS)", "recipient <nobody@example.org> refused",
                 "SIZE=200000 is over"):
        assert server.wait_log(text), server.log()[-3000:]
    log = server.log()
    assert re.search(r"127\.0\.0\.1: message \S+ accepted: 10\d\d bytes, 1 recipients, TLS",
                     log), log[-3000:]
    assert "127.0.0.1: recipient <nobody@example.org> refused: no such user here" in log
    assert "127.0.0.1: message refused: SIZE=200000 is over the 100000-byte limit" in log
    assert re.search(r"127\.0\.0\.1: message refused: \d+ bytes or more, over the "
                     r"100000-byte limit", log)
    assert "127.0.0.1: IMAPS login refused: wrong user name or password (TLS)" in log


def test_a_plain_stop_warns_of_nothing(make):
    """A stop an administrator asked for is not a fault: the processes that
    end first (spawners, relay) must not leave the others' warnings about
    links closing or sends failing in the log."""
    import imaplib
    import smtplib
    import ssl
    for _ in range(3):
        s = make()
        with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=30) as c:
            c.sendmail("carol@sender.test", ["alice@example.org"],
                       b"Subject: before the stop\r\n\r\nhello\r\n")
        assert s.wait_inbox("alice@example.org", 1)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        imap = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=ctx)
        imap.login("alice@example.org", "secret-pass")
        imap.logout()
        s.stop()
        log = s.log()
        assert "stopping (signal 15)" in log and "info: stopped" in log, log[-2000:]
        noisy = [l for l in log.splitlines() if ": warn:" in l or ": error:" in l]
        assert noisy == [], "\n".join(noisy)
