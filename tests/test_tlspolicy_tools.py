"""The test tools for TLS out work: the MTA-STS HTTPS server serves its
policy under a certificate that verifies for mta-sts.b.test against the
test CA (and for nothing else); a zone signed with ldnsutils and served by
Debian's unbound gives libunbound, with the zone's trust anchor, a secure
TLSA answer holding the SHA-256 of the MX certificate's key, and a bogus
one once that record is changed after signing."""
import http.client
import os
import shutil
import socket
import ssl
import tempfile

import pytest

import tlspolicy_util as tp

pytestmark = pytest.mark.skipif(not tp.tools_present(), reason="openssl, ldnsutils or libunbound missing")

POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.b.test\r\nmax_age: 86400\r\n"


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="ravelin-tlspolicy-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def port443_usable(ip):
    if os.geteuid() != 0:
        return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, 443))
        except OSError:
            return False
    return True


def get(ip, port, host, ca_file, path="/.well-known/mta-sts.txt"):
    ctx = ssl.create_default_context(cafile=ca_file)
    conn = http.client.HTTPSConnection(ip, port, context=ctx, timeout=10)
    # Connected to ip, the name checked is host (SNI and certificate).
    sock = socket.create_connection((ip, port), timeout=10)
    conn.sock = ctx.wrap_socket(sock, server_hostname=host)
    conn.request("GET", path, headers={"Host": host})
    resp = conn.getresponse()
    out = resp.status, resp.getheader("Content-Type"), resp.read().decode()
    conn.close()
    return out


def test_mta_sts_server_serves_the_policy_to_a_client_trusting_the_test_ca(tmp):
    ca = tp.TestCA(tmp)
    ip = "127.0.0.3"
    port = 443 if port443_usable(ip) else 0
    if port == 0:
        ip = "127.0.0.1"
    with tp.MtaStsServer(ca, "b.test", POLICY, ip=ip, port=port) as web:
        assert port == 0 or web.port == 443
        status, ctype, body = get(ip, web.port, "mta-sts.b.test", ca.cert)
        assert (status, ctype, body) == (200, "text/plain", POLICY)
        status, _, _ = get(ip, web.port, "mta-sts.b.test", ca.cert, "/other")
        assert status == 404
        # Another name, or a client without the test CA: refused.
        with pytest.raises(ssl.SSLCertVerificationError):
            get(ip, web.port, "mta-sts.c.test", ca.cert)
        os.mkdir(os.path.join(tmp, "other"))
        other = tp.TestCA(os.path.join(tmp, "other"))
        with pytest.raises(ssl.SSLCertVerificationError):
            get(ip, web.port, "mta-sts.b.test", other.cert)
        # The refused clients never got to ask.
        assert web.requests == ["/.well-known/mta-sts.txt", "/other"]


def test_signed_zone_gives_a_secure_tlsa_answer_and_a_tampered_one_is_bogus(tmp):
    ca = tp.TestCA(tmp)
    cert, _ = ca.issue("mx.b.test")
    zone = tp.signed_zone(tmp, "b.test", ["@ IN MX 10 mx.b.test.", "mx IN A 127.0.0.3",
                                          "_mta-sts IN TXT \"v=STSv1; id=1\""], tlsa_cert=cert)
    assert len(zone.tlsa) == 64
    with open(zone.anchor) as f:
        assert f.read().split()[:4] == ["b.test.", "3600", "IN", "DS"]

    with tp.AuthUnbound(tmp, zone.config_lines()) as dns:
        r = tp.lookup(dns.address, "_25._tcp.mx.b.test", "TLSA", zone.anchor)
        assert r["rcode"] == 0 and r["havedata"], r
        assert r["secure"] and not r["bogus"], r
        # The record's data: usage, selector, mtype, then the digest.
        assert r["data"] == [bytes([3, 1, 1]) + bytes.fromhex(zone.tlsa)]
        r = tp.lookup(dns.address, "b.test", "MX", zone.anchor)
        assert r["secure"] and r["havedata"], r
        # No record there: an authenticated denial, still secure.
        r = tp.lookup(dns.address, "_25._tcp.nothing.b.test", "TLSA", zone.anchor)
        assert r["secure"] and not r["havedata"] and r["rcode"] == 3, r
        # Without the trust anchor the same answer is not secure.
        r = tp.lookup(dns.address, "_25._tcp.mx.b.test", "TLSA")
        assert r["havedata"] and not r["secure"], r

    # The TLSA record changed after signing: its signature fails.
    wrong = "0" * 64 if zone.tlsa != "0" * 64 else "1" * 64
    bad = tp.tamper(zone.signed, zone.signed + ".tampered", zone.tlsa, wrong)
    lines = zone.config_lines().replace(zone.signed, bad)
    with tp.AuthUnbound(tmp, lines) as dns:
        r = tp.lookup(dns.address, "_25._tcp.mx.b.test", "TLSA", zone.anchor)
        assert r["bogus"] and not r["secure"], r
        r = tp.lookup(dns.address, "_25._tcp.mx.b.test", "TLSA")
        assert r["havedata"] and not r["bogus"], r
