"""TLS on the way out: MTA-STS (RFC 8461) and DANE (RFC 7672) between two
Ravelin servers.

a.test delivers to b.test as in test_outbound.py; b.test publishes an
MTA-STS policy (TXT _mta-sts.b.test and an HTTPS server on
mta-sts.b.test:443, certificate from a test CA that a trusts through
relay.ca_file) or, in a DNSSEC-signed zone, a TLSA record for its MX host.
A delivery that the policy forbids is not made: the recipient waits with
the reason (`queue list`) and bounces with it at expiry.
"""
import email
import os
import re
import socketserver
import stat
import subprocess
import tempfile
import threading

import pytest

from conftest import BIN, ENV, Server, check_no_sanitizer_reports
from dnsserver import DnsServer
from mta_pair import Pair, port25_usable
from test_outbound import wait_for
from tlspolicy_util import MtaStsServer, signed_zone, tools_present
from tlspolicy_util import TestCA as CertAuthority  # (not a test class)

pytestmark = pytest.mark.skipif(not port25_usable() or not tools_present(),
                                reason="needs root, port 25 free on 127.0.0.2/3 and "
                                       "openssl, ldnsutils, libunbound")

# The MX of b.test in test (a): an SMTP server offering no STARTTLS.
PLAIN_IP = "127.0.0.4"
STS_TXT = "v=STSv1; id=20261206T1"


def message(subject):
    return (f"From: Alice <alice@a.test>\r\nTo: <bob@b.test>\r\nSubject: {subject}\r\n"
            f"\r\nHello from a.\r\n").encode()


def policy(mode="enforce", mx="mx.b.test"):
    return f"version: STSv1\nmode: {mode}\nmx: {mx}\nmax_age: 86400\n"


def sts_records(ip="127.0.0.3"):
    return {("_mta-sts.b.test", "TXT"): [STS_TXT], ("mta-sts.b.test", "A"): [ip]}


class PlainSmtp:
    """An SMTP server on ip:25 that takes mail and offers no STARTTLS (with
    broken_tls, offers it and answers the handshake with garbage);
    self.mails counts the messages it was given."""

    def __init__(self, ip, broken_tls=False):
        self.ip = ip
        self.broken_tls = broken_tls
        self.mails = 0
        self.server = None

    def start(self):
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 plain.b.test ESMTP\r\n")
                data = False
                for line in self.rfile:
                    if data:
                        if line == b".\r\n":
                            data = False
                            outer.mails += 1
                            self.wfile.write(b"250 2.0.0 taken\r\n")
                        continue
                    verb = line[:4].upper()
                    if verb == b"EHLO":
                        tls = b"250-STARTTLS\r\n" if outer.broken_tls else b""
                        self.wfile.write(b"250-plain.b.test\r\n" + tls + b"250 8BITMIME\r\n")
                    elif verb == b"STAR":
                        self.wfile.write(b"220 go ahead\r\nthis is not TLS at all\r\n" * 4)
                        return
                    elif verb == b"DATA":
                        data = True
                        self.wfile.write(b"354 go on\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer((self.ip, 25), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Servers:
    """What one test starts, each stopped at its end whatever happened
    (a server left running would hold its address for the next test)."""

    def __init__(self, ca):
        self.ca = ca
        self.stops = []

    def plain(self, broken_tls=False):
        server = PlainSmtp(PLAIN_IP, broken_tls)
        server.start()
        self.stops.append(server.stop)
        return server

    def sts(self, sts_policy):
        server = MtaStsServer(self.ca, "b.test", sts_policy)
        server.start()
        self.stops.append(server.stop)
        return server

    def pair(self, pair):
        """Starts pair (a mta_pair.Pair)."""
        self.stops.append(lambda: stop_pair(pair))
        return pair.start()


@pytest.fixture
def tmp():
    # Read by the servers' processes (their own uids): not private.
    d = tempfile.mkdtemp(prefix="ravelin-tlsout-")
    os.chmod(d, 0o755)
    yield d


@pytest.fixture
def ca(tmp):
    ca = CertAuthority(tmp)
    for f in os.listdir(tmp):
        os.chmod(os.path.join(tmp, f), stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    return ca


def readable(*paths):
    for p in paths:
        os.chmod(p, 0o644)
    return paths


def stop_pair(p):
    p.stop()
    for site in (p.a, p.b):
        if os.path.exists(site.log_path):
            check_no_sanitizer_reports(site)


@pytest.fixture
def run(ca):
    servers = Servers(ca)
    yield servers
    for stop in reversed(servers.stops):
        stop()


def queue_answer(site):
    return site.cli("queue", "list").stdout


def wait_reason(site, reason):
    """Waits for `queue list` to show reason; its output."""
    return wait_for(lambda: (lambda o: o if reason in o else None)(queue_answer(site)),
                    what=f"'{reason}' in queue list")


def plain_mx_records(with_sts):
    records = {("mx.b.test", "A"): [PLAIN_IP]}
    if with_sts:
        records.update(sts_records())
    return records


def test_enforce_policy_and_no_starttls_is_not_delivered_then_bounces(run, ca):
    plain = run.plain()
    sts = run.sts(policy())
    pair = run.pair(Pair(a_config=f"relay.ca_file = {ca.cert}\nqueue.expire = 20s",
                         records=plain_mx_records(True)))
    pair.a.submit("alice@a.test", ["bob@b.test"], message("must go under TLS"))
    out = wait_reason(pair.a, "MTA-STS policy requires TLS but mx.b.test offered no STARTTLS")
    assert "4.7.5" in out, out
    assert sts.requests and sts.requests[0] == "/.well-known/mta-sts.txt", sts.requests
    # At expiry alice is told, with the reason.
    pair.a.wait_inbox("alice@a.test", 1, timeout=90)
    raw = pair.a.inbox_messages("alice@a.test")[0]
    msg = email.message_from_bytes(raw)
    assert msg.get_content_type() == "multipart/report", raw[:2000]
    text = raw.decode(errors="replace")
    assert "bob@b.test" in text and re.search(r"MTA-STS policy requires TLS\s+but", text), \
        text[:3000]
    assert plain.mails == 0
    assert "policy id 20261206T1: mode enforce" in pair.a.log()


def test_without_a_policy_the_plain_server_gets_the_mail(run):
    # The control of the test above: the same MX, no MTA-STS record.
    plain = run.plain()
    pair = run.pair(Pair(records=plain_mx_records(False)))
    pair.a.submit("alice@a.test", ["bob@b.test"], message("opportunistic"))
    wait_for(lambda: plain.mails == 1, what="the plain server to get the mail")


def test_a_failed_opportunistic_handshake_is_retried_in_clear(run):
    plain = run.plain(broken_tls=True)
    pair = run.pair(Pair(records=plain_mx_records(False)))
    pair.a.submit("alice@a.test", ["bob@b.test"], message("TLS broken"))
    wait_for(lambda: plain.mails == 1, what="the plain server to get the mail")
    assert "trying again without TLS" in pair.a.log()


def test_enforce_policy_and_a_failed_handshake_is_not_retried_in_clear(run, ca):
    plain = run.plain(broken_tls=True)
    run.sts(policy())
    pair = run.pair(Pair(a_config=f"relay.ca_file = {ca.cert}", records=plain_mx_records(True)))
    pair.a.submit("alice@a.test", ["bob@b.test"], message("TLS broken, enforce"))
    wait_reason(pair.a, "TLS handshake with mx.b.test failed (MTA-STS policy requires TLS)")
    assert plain.mails == 0


def test_enforce_policy_with_a_verified_certificate_is_delivered(run, ca):
    cert, key = readable(*ca.issue("mx.b.test"))
    sts = run.sts(policy())
    pair = run.pair(Pair(a_config=f"relay.ca_file = {ca.cert}",
                         b_config=f"tls.cert = {cert}\ntls.key = {key}", records=sts_records()))
    pair.a.submit("alice@a.test", ["bob@b.test"], message("under MTA-STS"))
    pair.b.wait_inbox("bob@b.test", 1, timeout=60)
    assert sts.requests, "no policy was fetched"
    log = pair.a.log()
    assert "mode enforce" in log, log[-3000:]
    assert re.search(r"TLS TLSv1\.[23], \S+, certificate verified", log), log[-3000:]


def refused_with(run, ca, sts_policy, reason):
    """a delivers under sts_policy to b (its own self-signed certificate):
    nothing arrives, and the recipient waits with reason."""
    run.sts(sts_policy)
    pair = run.pair(Pair(a_config=f"relay.ca_file = {ca.cert}", records=sts_records()))
    pair.a.submit("alice@a.test", ["bob@b.test"], message("refused"))
    wait_reason(pair.a, reason)
    assert pair.b.inbox_count("bob@b.test") == 0


def test_enforce_policy_and_a_certificate_that_does_not_verify(run, ca):
    # b keeps its own self-signed certificate: no CA a trusts vouches for it.
    refused_with(run, ca, policy(),
                 "certificate of mx.b.test does not verify for that name (MTA-STS policy)")


def test_enforce_policy_that_does_not_list_the_mx_host(run, ca):
    refused_with(run, ca, policy(mx="other.b.test"),
                 "MTA-STS policy of b.test does not list mx.b.test")


def test_testing_policy_lets_an_unverified_certificate_through(run, ca):
    run.sts(policy(mode="testing"))
    pair = run.pair(Pair(a_config=f"relay.ca_file = {ca.cert}", records=sts_records()))
    pair.a.submit("alice@a.test", ["bob@b.test"], message("testing mode"))
    pair.b.wait_inbox("bob@b.test", 1, timeout=60)
    assert "does not verify for that name (MTA-STS policy (testing))" in pair.a.log()


def dane_pair(run, tmp, b_cert, b_key, tlsa_cert):
    """The pair with b.test in a DNSSEC-signed zone whose TLSA record for
    mx.b.test is tlsa_cert's key (3 1 1); a validates with its trust
    anchor; b presents b_cert."""
    pair = Pair(b_config=f"tls.cert = {b_cert}\ntls.key = {b_key}")
    pair.dns.stop()
    signed = signed_zone(tmp, "b.test", ["@ IN MX 10 mx.b.test.", "mx IN A 127.0.0.3"],
                         tlsa_cert=tlsa_cert)
    a_records = {k: v for k, v in pair.records.items() if k[0].endswith("a.test")}
    pair.dns = DnsServer(a_records, zones=["a.test"], extra_config=signed.config_lines())
    pair.dns.start()
    pair.a.extra_config += f"\ndns.trust_anchor = {signed.anchor}"
    for site in (pair.a, pair.b):
        site.resolver = pair.dns.address
        site.write_config()
    return run.pair(pair)


def test_dane_tlsa_that_matches_is_delivered(run, tmp, ca):
    cert, key = readable(*ca.issue("mx.b.test"))
    pair = dane_pair(run, tmp, cert, key, tlsa_cert=cert)
    pair.a.submit("alice@a.test", ["bob@b.test"], message("under DANE"))
    pair.b.wait_inbox("bob@b.test", 1, timeout=60)
    log = pair.a.log()
    assert "TLSA of mx.b.test: usable, DANE applies" in log, log[-3000:]
    assert re.search(r"TLS TLSv1\.[23], \S+, certificate verified", log), log[-3000:]


def test_dane_tlsa_that_does_not_match_is_not_delivered(run, tmp, ca):
    cert, key = readable(*ca.issue("mx.b.test"))
    other, _ = ca.issue("somewhere.else.test")
    pair = dane_pair(run, tmp, cert, key, tlsa_cert=other)
    pair.a.submit("alice@a.test", ["bob@b.test"], message("wrong TLSA"))
    wait_reason(pair.a, "DANE TLSA mismatch for mx.b.test")
    assert pair.b.inbox_count("bob@b.test") == 0


def test_a_relay_ca_file_that_cannot_be_read_stops_the_start():
    tmp = tempfile.mkdtemp(prefix="ravelin-badca-")
    bad = os.path.join(tmp, "no-such-ca.pem")
    s = Server(tmp, f"relay.ca_file = {bad}")
    r = subprocess.run([BIN, "serve", "--config", s.config_path], capture_output=True,
                       text=True, env=ENV, timeout=60)
    assert r.returncode != 0
    assert f"relay.ca_file {bad}" in r.stderr, r.stderr
