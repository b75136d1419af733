"""`ravelin domain dkim`: DKIM keys made, published, rotated and retired;
the queue loads them at start."""
import base64
import os
import re
import stat
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def records(out):
    """The TXT records printed: {name: text}, each string at most 255."""
    found = {}
    for line in out.splitlines():
        m = re.match(r'^(\S+)\. IN TXT((?: "[^"]*")+)$', line)
        if m:
            strings = re.findall(r'"([^"]*)"', m.group(2))
            assert all(len(s) <= 255 for s in strings), line
            found[m.group(1)] = "".join(strings)
    return found


def key_dir(s, domain):
    return os.path.join(s.data, "dkim", domain)


def check_key(path, record):
    """The private key in path is the one the record publishes."""
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    p = base64.b64decode(re.search(r"p=([^;]+)$", record).group(1))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        assert "k=ed25519" in record
        assert p == key.public_key().public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw)
    else:
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
        assert "k=rsa" in record
        assert p == key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_dkim_keys_records_rotation(make):
    s = make(start=False)
    r = s.cli("domain", "dkim", "nowhere.test", check=False)
    assert r.returncode == 1 and "no domain nowhere.test" in r.stderr
    assert not os.path.exists(key_dir(s, "nowhere.test"))

    year = time.gmtime().tm_year
    out = s.cli("domain", "dkim", "Example.org").stdout
    recs = records(out)
    first = {f"r{year}a", f"e{year}a"}
    assert set(os.listdir(key_dir(s, "example.org"))) == {f + ".pem" for f in first}
    queue_uid = os.stat(os.path.join(s.data, "spool")).st_uid
    for sel in first:
        path = os.path.join(key_dir(s, "example.org"), sel + ".pem")
        st = os.stat(path)
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert st.st_uid == queue_uid
        check_key(path, recs[f"{sel}._domainkey.example.org"])
    assert len(recs[f"r{year}a._domainkey.example.org"]) > 255  # cut into strings
    assert recs["example.org"] == "v=spf1 mx -all"
    assert recs["_dmarc.example.org"] == \
        "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"
    assert re.fullmatch(r"v=STSv1; id=\d{14}", recs["_mta-sts.example.org"])
    assert "version: STSv1" in out and "mx: mx.test" in out

    # Without flags, a domain that has keys gets its records again.
    again = s.cli("domain", "dkim", "example.org").stdout
    assert records(again) == recs and "made DKIM key" not in again

    # --rotate adds a newer pair and keeps the old ones published.
    out = s.cli("domain", "dkim", "example.org", "--rotate").stdout
    recs = records(out)
    second = {f"r{year}b", f"e{year}b"}
    for sel in first | second:
        assert f"{sel}._domainkey.example.org" in recs
    assert len(os.listdir(key_dir(s, "example.org"))) == 4

    # The newest key of a kind is not retired; an older one is.
    r = s.cli("domain", "dkim", "example.org", "--retire", f"r{year}b", check=False)
    assert r.returncode == 1 and "newest" in r.stderr
    r = s.cli("domain", "dkim", "example.org", "--retire", "r1999a", check=False)
    assert r.returncode == 1 and "no DKIM key" in r.stderr
    s.cli("domain", "dkim", "example.org", "--retire", f"r{year}a")
    assert f"r{year}a.pem" not in os.listdir(key_dir(s, "example.org"))
    r = s.cli("domain", "dkim", "example.org", "--rotate", "--retire", f"e{year}a",
              check=False)
    assert r.returncode == 2

    # The queue reads the keys at its start, before its jail.
    s.start()
    deadline = time.time() + 10
    while "dkim: keys for 1 domain(s)" not in s.log() and time.time() < deadline:
        time.sleep(0.1)
    assert s.wait_log("dkim: keys for 1 domain(s)"), s.log()[-3000:]
    assert "dkim:" not in s.log().replace("dkim: keys for 1 domain(s)", "")
