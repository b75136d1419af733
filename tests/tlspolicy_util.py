"""Test tools for TLS out (MTA-STS, RFC 8461, and DANE, RFC 7672).

    ca = TestCA(tmp)                          # a CA made with the openssl CLI
    cert, key = ca.issue("mx.b.test")         # a server certificate it signs
    with MtaStsServer(ca, "b.test", POLICY, ip="127.0.0.3") as web:
        ... relay.ca_file = ca.cert ...       # https://mta-sts.b.test/.well-known/mta-sts.txt

    zone = signed_zone(tmp, "b.test", ["@ IN MX 10 mx.b.test.",
                                       "mx IN A 127.0.0.3"], tlsa_cert=cert)
    ... zone.signed (the zone file), zone.anchor (a DS record for
    dns.trust_anchor), zone.config_lines() (unbound.conf text that serves
    it authoritatively, RRSIGs included) ...

    lookup(server, name, "TLSA", anchor)      # libunbound, as the resolver asks

A signed zone served by Debian 12's unbound (1.17) as an `auth-zone` with
`for-downstream: yes` (and the zone made `transparent` so unbound's
built-in "test." zone does not hide it) answers with its RRSIGs to a
client that sets DO; libunbound forwarding to it (ub_ctx_set_fwd) with the
DS record as trust anchor (ub_ctx_add_ta_file) then gets secure answers,
and bogus ones when a record was changed after signing.
"""
import ctypes
import ctypes.util
import hashlib
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

OPENSSL = "openssl"
# Test certificates outlive any test run; a short life keeps them test-only.
CERT_DAYS = "30"


def run(*args, cwd=None, stdin=None):
    """Runs a command that must succeed; its stdout as text."""
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True,
                          input=stdin).stdout.strip()


class TestCA:
    """A certificate authority for the tests: tmp/ca.pem (the file for
    relay.ca_file) and tmp/ca.key; issue() signs server certificates."""

    def __init__(self, tmp, name="Ravelin test CA"):
        self.tmp = tmp
        self.cert = os.path.join(tmp, "ca.pem")
        self.key = os.path.join(tmp, "ca.key")
        run(OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.key, "-out", self.cert, "-days", CERT_DAYS,
            "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(self, *names):
        """A P-256 key and a certificate for names (the first is the CN),
        signed by this CA: (cert_path, key_path)."""
        base = os.path.join(self.tmp, names[0])
        cert, key, csr, ext = base + ".pem", base + ".key", base + ".csr", base + ".ext"
        run(OPENSSL, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={names[0]}")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                    "subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
        run(OPENSSL, "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
            "-CAcreateserial", "-out", cert, "-days", CERT_DAYS, "-extfile", ext)
        return cert, key


def self_signed(tmp, name):
    """A self-signed certificate for name (no CA will vouch for it):
    (cert_path, key_path)."""
    cert, key = os.path.join(tmp, name + "-self.pem"), os.path.join(tmp, name + "-self.key")
    run(OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", key, "-out", cert, "-days", CERT_DAYS, "-subj", f"/CN={name}",
        "-addext", f"subjectAltName=DNS:{name}")
    return cert, key


def spki_sha256(cert_path):
    """The SHA-256 of the certificate's SubjectPublicKeyInfo, in hex: the
    data of a TLSA 3 1 1 record (RFC 6698 2.1)."""
    pem = run(OPENSSL, "x509", "-in", cert_path, "-noout", "-pubkey")
    der = subprocess.run([OPENSSL, "pkey", "-pubin", "-outform", "DER"], input=pem.encode(),
                         check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()


class MtaStsServer:
    """HTTPS on ip:port serving `policy` at /.well-known/mta-sts.txt as
    text/plain (404 elsewhere), with a certificate for mta-sts.<domain>
    signed by ca (a TestCA).  Port 443 needs root.  Every request path is
    kept in self.requests."""

    def __init__(self, ca, domain, policy, ip="127.0.0.3", port=443, cert=None):
        self.host = f"mta-sts.{domain}"
        self.policy = policy
        self.ip, self.port = ip, port
        self.cert, self.key = cert or ca.issue(self.host)
        self.ca_file = ca.cert
        self.requests = []
        self.httpd = None
        self.thread = None

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                if self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                body = outer.policy.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer((self.ip, self.port), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class SignedZoneFiles:
    """What signed_zone made: the signed zone file, the trust anchor (a DS
    record, for dns.trust_anchor), the zone's name and its TLSA data."""

    def __init__(self, zone, signed, anchor, tlsa):
        self.zone, self.signed, self.anchor, self.tlsa = zone, signed, anchor, tlsa

    def config_lines(self):
        """unbound.conf text serving the zone authoritatively (append to a
        configuration that has its own server: clause)."""
        return "\n".join([
            "server:",
            f"  local-zone: \"{self.zone}.\" transparent",
            "auth-zone:",
            f"  name: \"{self.zone}.\"",
            f"  zonefile: \"{self.signed}\"",
            "  for-downstream: yes",
            "  for-upstream: yes",
            "",
        ])


def signed_zone(tmp, zone, records, tlsa_cert=None, tlsa_host=None, port=25):
    """Writes zone (records: zone file lines relative to it, SOA and NS
    added) signed with ldns-signzone under a new ECDSA P-256 KSK and ZSK,
    into tmp.  With tlsa_cert, adds `_<port>._tcp.<tlsa_host> IN TLSA 3 1 1
    <SHA-256 of its SPKI>` (tlsa_host defaults to mx.<zone>).  Returns a
    SignedZoneFiles."""
    zone = zone.rstrip(".")
    path = os.path.join(tmp, f"{zone}.zone")
    lines = [f"$ORIGIN {zone}.", "$TTL 60",
             f"@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60",
             f"@ IN NS ns.{zone}.", "ns IN A 127.0.0.1"] + list(records)
    tlsa = None
    if tlsa_cert is not None:
        tlsa = spki_sha256(tlsa_cert)
        host = (tlsa_host or f"mx.{zone}").rstrip(".")
        lines.append(f"_{port}._tcp.{host}. IN TLSA 3 1 1 {tlsa}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", zone, cwd=tmp)
    zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", zone, cwd=tmp)
    run("ldns-signzone", "-n", path, ksk, zsk, cwd=tmp)
    anchor = os.path.join(tmp, f"{zone}.anchor")
    with open(anchor, "w") as f:
        f.write(run("ldns-key2ds", "-n", "-2", ksk + ".key", cwd=tmp) + "\n")
    return SignedZoneFiles(zone, path + ".signed", anchor, tlsa)


def tamper(signed_path, out_path, needle, replacement):
    """A copy of a signed zone file with one record's text changed after
    signing (its RRSIG no longer matches)."""
    with open(signed_path) as f:
        text = f.read()
    if needle not in text:
        needle = needle.upper() if needle.upper() in text else needle.lower()
    assert needle in text, needle
    with open(out_path, "w") as f:
        f.write(text.replace(needle, replacement, 1))
    return out_path


class UbResult(ctypes.Structure):
    """struct ub_result of libunbound (unbound.h, 1.17)."""
    _fields_ = [("qname", ctypes.c_char_p), ("qtype", ctypes.c_int), ("qclass", ctypes.c_int),
                ("data", ctypes.POINTER(ctypes.POINTER(ctypes.c_char))),
                ("len", ctypes.POINTER(ctypes.c_int)), ("canonname", ctypes.c_char_p),
                ("rcode", ctypes.c_int), ("answer_packet", ctypes.c_void_p),
                ("answer_len", ctypes.c_int), ("havedata", ctypes.c_int),
                ("nxdomain", ctypes.c_int), ("secure", ctypes.c_int), ("bogus", ctypes.c_int),
                ("why_bogus", ctypes.c_char_p), ("was_ratelimited", ctypes.c_int),
                ("ttl", ctypes.c_int)]


RR_TYPES = {"A": 1, "MX": 15, "TXT": 16, "AAAA": 28, "TLSA": 52}


def lookup(server, name, rtype, anchor=None):
    """Asks name/rtype through libunbound forwarding to server
    ("127.0.0.1:port"), validating with the trust anchor file if given, as
    Ravelin's resolver does.  Returns a dict: rcode, havedata, secure,
    bogus, why_bogus, data (list of bytes)."""
    lib = ctypes.CDLL(ctypes.util.find_library("unbound") or "libunbound.so.8")
    lib.ub_ctx_create.restype = ctypes.c_void_p
    lib.ub_ctx_delete.argtypes = [ctypes.c_void_p]
    lib.ub_ctx_set_fwd.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.ub_ctx_add_ta_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.ub_ctx_set_option.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.ub_strerror.restype = ctypes.c_char_p
    lib.ub_resolve.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                               ctypes.POINTER(ctypes.POINTER(UbResult))]
    lib.ub_resolve_free.argtypes = [ctypes.POINTER(UbResult)]
    ctx = lib.ub_ctx_create()
    try:
        host, port = server.rsplit(":", 1)
        # A forwarder on loopback is allowed, and libunbound's built-in
        # "test." zone (RFC 6761, NXDOMAIN for all) must not hide ours:
        # as the resolver process sets them.
        for opt, val in (("do-not-query-localhost:", "no"), ("local-zone:", "test. transparent")):
            err = lib.ub_ctx_set_option(ctx, opt.encode(), val.encode())
            if err != 0:
                raise RuntimeError(f"libunbound: {lib.ub_strerror(err).decode()}")
        for call, arg in ((lib.ub_ctx_set_fwd, f"{host}@{port}"),
                          (lib.ub_ctx_add_ta_file, anchor)):
            if arg is None:
                continue
            err = call(ctx, arg.encode())
            if err != 0:
                raise RuntimeError(f"libunbound: {lib.ub_strerror(err).decode()}")
        res = ctypes.POINTER(UbResult)()
        err = lib.ub_resolve(ctx, name.encode(), RR_TYPES[rtype], 1, ctypes.byref(res))
        if err != 0:
            raise RuntimeError(f"libunbound: {lib.ub_strerror(err).decode()}")
        r = res.contents
        data = []
        i = 0
        while r.data and r.data[i]:
            data.append(ctypes.string_at(r.data[i], r.len[i]))
            i += 1
        out = {"rcode": r.rcode, "havedata": bool(r.havedata), "secure": bool(r.secure),
               "bogus": bool(r.bogus),
               "why_bogus": r.why_bogus.decode() if r.why_bogus else "", "data": data}
        lib.ub_resolve_free(res)
        return out
    finally:
        lib.ub_ctx_delete(ctx)


class AuthUnbound:
    """unbound on 127.0.0.1:<free port> serving only the given
    configuration lines (a signed zone's config_lines()), no recursion to
    the outside; stops only the process it started.  (tests/dnsserver.py's
    DnsServer with extra_config does the same where it is present.)"""

    def __init__(self, tmp, config_lines):
        self.tmp = tmp
        self.config_lines = config_lines
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout=15):
        conf = os.path.join(self.tmp, f"unbound-{self.port}.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "server:", "  username: \"\"", "  chroot: \"\"",
                f"  directory: \"{self.tmp}\"", "  pidfile: \"\"", "  do-daemonize: no",
                "  use-syslog: no", "  verbosity: 1", "  interface: 127.0.0.1",
                f"  port: {self.port}", "  do-ip6: no", "  access-control: 127.0.0.0/8 allow",
                "  num-threads: 1", "  so-reuseport: no", "  module-config: \"iterator\"",
                "remote-control:", "  control-enable: no", self.config_lines, ""]))
        run("unbound-checkconf", conf)
        self.proc = subprocess.Popen(["unbound", "-d", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited: " + self.proc.stderr.read().decode())
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("unbound did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc.stderr.close()
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1."""
    while True:
        with socket.socket() as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue


def tools_present():
    """Whether everything this module runs is installed."""
    return all(shutil.which(t) for t in (OPENSSL, "ldns-keygen", "ldns-signzone", "ldns-key2ds")) \
        and (ctypes.util.find_library("unbound") is not None)
