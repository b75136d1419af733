"""A DNS server for the tests: Debian's unbound on 127.0.0.1:<free port>.

    with DnsServer({("a.test", "MX"): ["10 mx.a.test."],
                    ("mx.a.test", "A"): ["127.0.0.2"],
                    ("a.test", "TXT"): ["v=spf1 -all"]}) as dns:
        ... dns.address ...  # "127.0.0.1:PORT", for dns.resolver

Records are local data in a static local zone per domain (the last two
labels of each name, or the zones given), so a name not listed is
NXDOMAIN and a type not listed for a listed name is NODATA.  TXT values
are the text itself: longer than 255 octets (a DKIM key), it is split
into strings of 255.  Other values are written as unbound reads them
("10 mx.a.test.", "3 1 1 ABCD...").

SignedZone serves one zone signed with ldnsutils (ldns-keygen,
ldns-signzone) as an auth-zone and writes its trust anchor (a DS record)
for dns.trust_anchor.

Works as root or not; only the unbound this module started is stopped.
"""
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import time

UNBOUND = "/usr/sbin/unbound"
# DNS record types by name (IANA).
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28,
         "DS": 43, "DNSKEY": 48, "TLSA": 52}
# RFC 1035 3.3: a character-string is at most 255 octets.
TXT_CHUNK = 255


def free_udp_tcp_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
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


def txt_value(text):
    """A TXT record's text as unbound's quoted strings of <= 255 octets."""
    chunks = [text[i:i + TXT_CHUNK] for i in range(0, len(text), TXT_CHUNK)] or [""]
    return " ".join('"' + c.replace('"', '\\"') + '"' for c in chunks)


def zone_of(name):
    labels = name.rstrip(".").split(".")
    return ".".join(labels[-2:])


def query_packet(name, rtype, qid=None):
    """A DNS question (recursion desired) for name and type."""
    qid = random.randrange(65536) if qid is None else qid
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire + struct.pack(
        "!HH", TYPES[rtype], 1)


def ask(port, name, rtype="A", timeout=1.0):
    """One UDP question to 127.0.0.1:port; the reply's rcode, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query_packet(name, rtype, 4242), ("127.0.0.1", port))
        try:
            data, _ = s.recvfrom(65535)
        except OSError:
            return None
        return data[3] & 0x0F if len(data) >= 12 else None


class DnsServer:
    """unbound serving records (see the module's doc)."""

    def __init__(self, records, zones=None, tmp=None, extra_config=""):
        self.records = records
        self.zones = sorted(set(zones or [zone_of(n) for n, _ in records]))
        self.own_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="ravelin-dns-")
        self.port = free_udp_tcp_port()
        self.address = f"127.0.0.1:{self.port}"
        self.extra_config = extra_config
        self.proc = None
        # static: the records listed and nothing else; a signed zone is
        # answered by its auth-zone, which a static local zone would hide.
        self.zone_type = "static"
        self.log_path = os.path.join(self.tmp, "unbound.log")

    def config_text(self):
        lines = [
            "server:",
            "  username: \"\"",
            "  chroot: \"\"",
            f"  directory: \"{self.tmp}\"",
            f"  pidfile: \"{os.path.join(self.tmp, 'unbound.pid')}\"",
            "  do-daemonize: no",
            "  use-syslog: no",
            f"  logfile: \"{self.log_path}\"",
            "  verbosity: 1",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  do-ip6: no",
            "  access-control: 127.0.0.0/8 allow",
            "  num-threads: 1",
            "  outgoing-range: 16",
            "  so-reuseport: no",
            "  module-config: \"iterator\"",
            "  auto-trust-anchor-file: \"\"",
            "  trust-anchor-file: \"\"",
            # Answers as large as the tests want (many records, long TXT).
            "  msg-buffer-size: 65552",
        ]
        for z in self.zones:
            lines.append(f"  local-zone: \"{z}.\" {self.zone_type}")
        for (name, rtype), values in self.records.items():
            for v in values:
                v = txt_value(v) if rtype == "TXT" else v
                lines.append(f"  local-data: '{name.rstrip('.')}. 60 IN {rtype} {v}'")
        lines.append(self.extra_config)
        lines += ["remote-control:", "  control-enable: no"]
        return "\n".join(lines) + "\n"

    # Only a wait: unbound loading 10,000 records took over 60 s at load 25.
    def start(self, timeout=180):
        conf = os.path.join(self.tmp, "unbound.conf")
        with open(conf, "w") as f:
            f.write(self.config_text())
        self.proc = subprocess.Popen([UNBOUND, "-d", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        probe = self.zones[0] if self.zones else "localhost"
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                raise RuntimeError(f"unbound exited: {err} {self.log()}")
            if ask(self.port, probe, "SOA", timeout=0.2) is not None:
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("unbound did not answer")

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class SignedZone(DnsServer):
    """unbound serving one zone signed with ldnsutils, authoritatively
    (RRSIGs come with the answers).  zone_lines: the zone's records
    ("mx.s.test. 60 IN A 127.0.0.2"); SOA and NS are added.  After start,
    self.anchor is a file with the zone's DS record (dns.trust_anchor)."""

    def __init__(self, zone, zone_lines, tmp=None):
        super().__init__({}, zones=[], tmp=tmp)
        self.zone = zone.rstrip(".")
        self.zone_lines = zone_lines
        self.anchor = os.path.join(self.tmp, "anchor.ds")

    def sign(self):
        z = self.zone
        path = os.path.join(self.tmp, f"{z}.zone")
        with open(path, "w") as f:
            f.write(f"$ORIGIN {z}.\n$TTL 60\n")
            f.write(f"@ IN SOA ns.{z}. hostmaster.{z}. 1 3600 600 86400 60\n")
            f.write(f"@ IN NS ns.{z}.\nns IN A 127.0.0.1\n")
            for line in self.zone_lines:
                f.write(line + "\n")

        def run(*args):
            return subprocess.run(args, cwd=self.tmp, check=True, capture_output=True,
                                  text=True).stdout.strip()
        ksk = run("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", z)
        zsk = run("ldns-keygen", "-a", "ECDSAP256SHA256", z)
        run("ldns-signzone", "-n", path, ksk, zsk)
        ds = run("ldns-key2ds", "-n", "-2", ksk + ".key")
        with open(self.anchor, "w") as f:
            f.write(ds + "\n")
        return path + ".signed"

    def start(self, timeout=180):
        signed = self.sign()
        self.extra_config = "\n".join([
            "auth-zone:",
            f"  name: \"{self.zone}.\"",
            f"  zonefile: \"{signed}\"",
            "  for-downstream: yes",
            "  for-upstream: yes",
        ])
        self.zones = [self.zone]
        self.zone_type = "transparent"
        return super().start(timeout)
