"""The resolver process on its own: `ravelin --role resolver` started the
way master starts it (its link to "master" and its configuration as
descriptors 3 and 4), given an asker's link with IPC_PEER, asked over
that link in the IPC format of src/lib/ipc.h and src/lib/dns-msg.h, and
answering from Debian's unbound serving the tests' records
(tests/dnsserver.py).  No debugging command of a running server is
involved: this is the process master runs, spoken to as its peers do."""
import array
import fcntl
import os
import re
import select
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, ENV, server_pids
from dnsserver import DnsServer, SignedZone, free_udp_tcp_port

HERE = os.path.dirname(__file__)
# Bounds of src/lib/dns.h and src/resolver/resolver.c.
DNS_MAX_RECORDS = 64
RESOLVER_QUERY_TIMEOUT_MS = 8000
RESOLVER_MAX_OUTSTANDING = 64
TYPE = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52}
OK, NXDOMAIN, NODATA, TEMPFAIL, BOGUS = range(5)


def enum_values(name):
    """The values of enum `name` in src/lib/ipc.h (members in order, from 0
    or their first explicit value)."""
    with open(os.path.join(HERE, "..", "src", "lib", "ipc.h")) as f:
        text = f.read()
    body = re.search(r"enum " + name + r" \{(.*?)\};", text, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    values, n = {}, 0
    for item in body.split(","):
        item = item.strip()
        if not item:
            continue
        if "=" in item:
            key, val = (s.strip() for s in item.split("="))
            n = int(val)
        else:
            key = item
        values[key] = n
        n += 1
    return values


KIND = enum_values("ipc_kind")
ROLE = enum_values("ipc_role")
HEADER = struct.Struct("=IIQ")


def u64(*vals):
    return b"".join(struct.pack("=Q", v) for v in vals)


def put_str(b):
    return u64(len(b)) + b


def send_msg(sock, kind, msg_id, payload=b"", fd=None):
    data = HEADER.pack(kind, len(payload), msg_id) + payload
    if fd is None:
        sock.send(data)
    else:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])


def parse_answer(payload):
    """(status, secure, [(pref, usage, selector, mtype, data)])."""
    status, secure, count = struct.unpack_from("=QQQ", payload, 0)
    at, records = 24, []
    for _ in range(count):
        pref, usage, selector, mtype, n = struct.unpack_from("=QQQQQ", payload, at)
        at += 40
        records.append((pref, usage, selector, mtype, payload[at:at + n]))
        at += n
    assert at == len(payload)
    return status, bool(secure), records


class Resolver:
    """One `ravelin --role resolver` and an asker's link to it."""

    def __init__(self, config):
        self.tmp = tempfile.mkdtemp(prefix="ravelin-resolver-")
        self.logs = []
        self.master, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        conf = os.memfd_create("config", 0)
        os.write(conf, (f"data = {self.tmp}\nlog.level = debug\n" + config).encode())
        link = fcntl.fcntl(child.fileno(), fcntl.F_DUPFD, 10)
        conf_high = fcntl.fcntl(conf, fcntl.F_DUPFD, 10)

        def wire():
            os.dup2(link, 3)
            os.dup2(conf_high, 4)
        self.proc = subprocess.Popen([BIN, "--role", "resolver"], preexec_fn=wire,
                                     close_fds=False, env=ENV, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for fd in (link, conf_high, conf):
            os.close(fd)
        child.close()
        self.next_id = 1
        self.asker = self.new_asker()

    def new_asker(self, role="IPC_ROLE_PREAUTH", index=7):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        send_msg(self.master, KIND["IPC_PEER"], 0, u64(ROLE[role], index), theirs.fileno())
        theirs.close()
        return mine

    def pump_logs(self, timeout=0.0):
        """Reads what the resolver said to master (log records)."""
        while select.select([self.master], [], [], timeout)[0]:
            try:
                data = self.master.recv(70000)
            except ConnectionResetError:
                # It exited without reading what we sent; its records are
                # still queued behind the error.
                continue
            if not data:
                return False
            kind, n, _ = HEADER.unpack_from(data)
            if kind == KIND["IPC_LOG"]:
                level, tlen = struct.unpack_from("=QQ", data, 16)
                self.logs.append(data[32:32 + tlen].decode(errors="replace"))
            timeout = 0.0
        return True

    def log(self):
        self.pump_logs()
        return "\n".join(self.logs)

    def wait_log(self, pattern, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.log()):
                return True
            self.pump_logs(0.1)
        return False

    def send_query(self, rtype, name, sock=None):
        msg_id = self.next_id
        self.next_id += 1
        send_msg(sock or self.asker, KIND["IPC_DNS_QUERY"], msg_id,
                 u64(TYPE[rtype]) + put_str(name.encode()))
        return msg_id

    def read_answer(self, timeout=15, sock=None):
        """(id, status, secure, records), or None if the link closed."""
        sock = sock or self.asker
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ready = select.select([sock, self.master], [], [], 0.1)[0]
            if self.master in ready:
                self.pump_logs()
            if sock in ready:
                data = sock.recv(70000)
                if not data:
                    return None
                kind, n, msg_id = HEADER.unpack_from(data)
                assert kind == KIND["IPC_DNS_ANSWER"] and n == len(data) - 16
                return (msg_id,) + parse_answer(data[16:])
        raise TimeoutError("no answer")

    def query(self, rtype, name, timeout=15):
        msg_id = self.send_query(rtype, name)
        got = self.read_answer(timeout)
        assert got is not None, self.log()
        assert got[0] == msg_id
        return got[1:]

    def stop(self):
        self.asker.close()
        self.master.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        assert "Sanitizer" not in err and "runtime error" not in err, err
        assert "Sanitizer" not in "\n".join(self.logs)


RECORDS = {
    ("a.test", "MX"): ["20 mx2.a.test.", "10 mx1.a.test."],
    ("mx1.a.test", "A"): ["127.0.0.2"],
    ("mx1.a.test", "AAAA"): ["::1"],
    ("a.test", "TXT"): ["v=spf1 ip4:127.0.0.2 -all"],
    ("k1._domainkey.a.test", "TXT"): ["v=DKIM1; k=rsa; p=" + "A" * 700],
    ("_25._tcp.mx1.a.test", "TLSA"): ["3 1 1 " + "ab" * 32],
    ("null.a.test", "MX"): ["0 ."],
    ("over.a.test", "MX"): [f"{i} m{i}.a.test." for i in range(DNS_MAX_RECORDS + 1)],
    ("limit.a.test", "MX"): [f"{i} m{i}.a.test." for i in range(DNS_MAX_RECORDS)],
    ("huge.a.test", "MX"): [f"{i} m{i}.a.test." for i in range(10000)],
    ("loop1.a.test", "CNAME"): ["loop2.a.test."],
    ("loop2.a.test", "CNAME"): ["loop1.a.test."],
}


@pytest.fixture(scope="module")
def dns():
    with DnsServer(RECORDS) as d:
        yield d


@pytest.fixture
def resolver(dns):
    r = Resolver(f"dns.resolver = {dns.address}\n")
    yield r
    r.stop()


def test_mx_records_in_the_order_given(resolver):
    status, secure, records = resolver.query("MX", "a.test")
    assert status == OK and not secure
    assert sorted((r[0], r[4]) for r in records) == [(10, b"mx1.a.test"), (20, b"mx2.a.test")]
    assert resolver.wait_log(r"jailed as resolver")


def test_addresses(resolver):
    assert resolver.query("A", "mx1.a.test")[2][0][4] == bytes([127, 0, 0, 2])
    assert resolver.query("AAAA", "mx1.a.test")[2][0][4] == bytes(15) + b"\1"


def test_txt_longer_than_255_is_joined(resolver):
    status, _, records = resolver.query("TXT", "k1._domainkey.a.test")
    assert status == OK
    assert records[0][4] == b"v=DKIM1; k=rsa; p=" + b"A" * 700
    assert resolver.query("TXT", "a.test")[2][0][4] == b"v=spf1 ip4:127.0.0.2 -all"


def test_tlsa_fields(resolver):
    status, _, records = resolver.query("TLSA", "_25._tcp.mx1.a.test")
    assert status == OK
    assert records[0][1:4] == (3, 1, 1) and records[0][4] == b"\xab" * 32


def test_null_mx(resolver):
    status, _, records = resolver.query("MX", "null.a.test")
    assert status == OK and records[0][0] == 0 and records[0][4] == b""


def test_nxdomain_and_nodata(resolver):
    assert resolver.query("MX", "nothere.a.test")[0] == NXDOMAIN
    assert resolver.query("AAAA", "a.test")[0] == NODATA


def test_records_up_to_the_limit_and_one_past(resolver):
    status, _, records = resolver.query("MX", "limit.a.test")
    assert status == OK and len(records) == DNS_MAX_RECORDS
    assert resolver.query("MX", "over.a.test")[0] == TEMPFAIL
    assert resolver.wait_log(rf"MX over\.a\.test: answer refused: {DNS_MAX_RECORDS + 1} records")


def test_ten_thousand_mx_is_a_tempfail(resolver):
    assert resolver.query("MX", "huge.a.test", timeout=20)[0] == TEMPFAIL
    assert resolver.wait_log(r"MX huge\.a\.test: ")


def test_cname_loop_is_a_tempfail(resolver):
    assert resolver.query("A", "loop1.a.test")[0] == TEMPFAIL
    assert resolver.wait_log(r"A loop1\.a\.test: ")


def test_a_name_that_is_no_host_name_is_refused(resolver):
    assert resolver.query("A", "a b.test")[0] == TEMPFAIL
    assert resolver.query("A", "a..test")[0] == TEMPFAIL


def test_malformed_query_closes_the_link(resolver):
    send_msg(resolver.asker, KIND["IPC_DNS_QUERY"], 1, u64(99) + put_str(b"a.test"))
    assert resolver.read_answer(timeout=5) is None
    # Other askers are served still.
    other = resolver.new_asker(index=8)
    msg_id = resolver.send_query("MX", "a.test", sock=other)
    got = resolver.read_answer(sock=other)
    assert got[0] == msg_id and got[1] == OK
    other.close()


def test_an_asker_may_not_pass_links(resolver):
    # Only a spawner's (or master's) link passes links; an asker that tries
    # is cut off.
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    send_msg(resolver.asker, KIND["IPC_PEER"], 0, u64(ROLE["IPC_ROLE_PREAUTH"], 9), b.fileno())
    assert resolver.read_answer(timeout=5) is None
    a.close()
    b.close()


def test_spawner_passes_asker_links(resolver):
    spawner = resolver.new_asker(role="IPC_ROLE_SPAWNER", index=0)
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    send_msg(spawner, KIND["IPC_PEER"], 5, u64(ROLE["IPC_ROLE_PREAUTH"], 5), theirs.fileno())
    theirs.close()
    msg_id = resolver.send_query("A", "mx1.a.test", sock=mine)
    got = resolver.read_answer(sock=mine)
    assert got[0] == msg_id and got[1] == OK
    mine.close()
    spawner.close()


@pytest.mark.slow("waits for the resolver's per-question bound")
def test_silent_server_times_out_and_outstanding_cap():
    # A UDP port where nothing answers (and TCP refused).
    port = free_udp_tcp_port()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", port))
    r = Resolver(f"dns.resolver = 127.0.0.1:{port}\n")
    try:
        start = time.monotonic()
        ids = [r.send_query("A", f"q{i}.silent.test") for i in range(RESOLVER_MAX_OUTSTANDING)]
        # One past the cap: refused at once.
        over = r.send_query("A", "over.silent.test")
        got = r.read_answer(timeout=3)
        assert got[0] == over and got[1] == TEMPFAIL
        assert time.monotonic() - start < 3
        seen = set()
        while len(seen) < len(ids):
            got = r.read_answer(timeout=RESOLVER_QUERY_TIMEOUT_MS / 1000 + 5)
            assert got[1] == TEMPFAIL
            seen.add(got[0])
        took = time.monotonic() - start
        assert RESOLVER_QUERY_TIMEOUT_MS / 1000 - 1 <= took <= RESOLVER_QUERY_TIMEOUT_MS / 1000 + 4
        assert r.wait_log(r"A q0\.silent\.test: no answer within 8000 ms")
        assert r.wait_log(rf"more than {RESOLVER_MAX_OUTSTANDING} questions outstanding")
    finally:
        r.stop()
        silent.close()


def test_signed_zone_is_secure_with_the_trust_anchor():
    zone = SignedZone("s.test", ["mx IN A 127.0.0.2", "@ IN MX 10 mx.s.test."])
    with zone:
        r = Resolver(f"dns.resolver = {zone.address}\ndns.trust_anchor = {zone.anchor}\n")
        try:
            status, secure, records = r.query("MX", "s.test")
            assert status == OK and secure, r.log()
            assert r.query("A", "nothere.s.test")[:2] == (NXDOMAIN, True)
        finally:
            r.stop()
        r = Resolver(f"dns.resolver = {zone.address}\n")
        try:
            status, secure, _ = r.query("MX", "s.test")
            assert status == OK and not secure
        finally:
            r.stop()


def wait_for(predicate, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_server_starts_the_resolver_and_restarts_it(make, dns):
    import signal as sig
    s = make(extra_config=f"dns.resolver = {dns.address}\n")
    assert wait_for(lambda: "resolver" in s.log() and "jailed as resolver" in s.log()), s.log()
    mine = server_pids(s, "--role resolver")
    assert len(mine) == 1
    os.kill(mine[0], sig.SIGKILL)
    assert wait_for(lambda: re.search(r"resolver was killed by signal 9.*restarting", s.log()))
    assert wait_for(lambda: s.log().count("jailed as resolver") == 2), s.log()
    # Mail still flows through the pre-auth processes made after it.
    import smtplib
    with smtplib.SMTP("127.0.0.1", s.smtp_port, timeout=10) as c:
        c.sendmail("x@example.net", ["alice@example.org"], b"Subject: t\r\n\r\nhi\r\n")
    s.wait_inbox("alice@example.org", 1)


def test_a_resolver_that_is_no_address_stops_the_start():
    r = Resolver("dns.resolver = dns.example:53\n")
    assert r.proc.wait(timeout=20) == 78  # PROCESS_EXIT_CANNOT_START
    assert re.search(r"dns.resolver dns.example:53 is not IP:port", r.log())
    r.stop()


def test_a_missing_trust_anchor_stops_the_start(dns):
    r = Resolver(f"dns.resolver = {dns.address}\ndns.trust_anchor = /nonexistent/anchor\n")
    assert r.proc.wait(timeout=20) == 78
    assert re.search(r"dns.trust_anchor: open\(/nonexistent/anchor\) failed", r.log())
    r.stop()
