"""Two Ravelin servers that mail each other, and the DNS that joins them.

a.test is served on 127.0.0.2 and b.test on 127.0.0.3, both on port 25 as
on the Internet (the tests run as root), each with its own data folder and
its own submission, IMAP and POP3 ports on 127.0.0.1.  A Debian unbound on
127.0.0.1 serves their MX, A, SPF, DKIM and DMARC records; both servers
resolve through it (dns.resolver).
"""
import os
import re
import smtplib
import ssl
import subprocess
import tempfile
import time

from conftest import BIN, ENV, Server, free_port
import dnsserver

PASSWORD = "secret-pass"
SITES = {"a.test": "127.0.0.2", "b.test": "127.0.0.3"}


def port25_usable():
    """Port 25 on 127.0.0.2/3 needs root and nothing else listening there."""
    if os.geteuid() != 0:
        return False
    import socket
    for ip in SITES.values():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((ip, 25))
            except OSError:
                return False
    return True


class Site(Server):
    """One of the two servers: domain, MX address, and port 25 there."""

    def __init__(self, domain, ip, extra_config=""):
        self.domain = domain
        self.ip = ip
        self.submission_port = free_port()
        self.submissions_port = free_port()
        self.resolver = None
        super().__init__(tempfile.mkdtemp(prefix=f"ravelin-{domain}-"), extra_config)

    def write_config(self):
        resolver = f"dns.resolver = {self.resolver}\n" if self.resolver else ""
        with open(self.config_path, "w") as f:
            f.write(f"data = {self.data}\nhostname = mx.{self.domain}\n"
                    f"listen.smtp = {self.ip}:25\n"
                    f"listen.submission = 127.0.0.1:{self.submission_port}\n"
                    f"listen.submissions = 127.0.0.1:{self.submissions_port}\n"
                    f"listen.pop3 = 127.0.0.1:{self.pop3_port}\n"
                    f"listen.pop3s = 127.0.0.1:{self.pop3s_port}\n"
                    f"listen.imap = 127.0.0.1:{self.imap_port}\n"
                    f"listen.imaps = 127.0.0.1:{self.imaps_port}\n"
                    f"listen.https = 127.0.0.1:{self.https_port}\n"
                    f"listen.http = 127.0.0.1:{self.http_port}\n"
                    f"front.processes = 2\nlog.level = info\n"
                    f"queue.retry_delay = 1\nqueue.retry_schedule = 1s\nworker.idle_timeout = 5\n"
                    f"{resolver}{self.extra_config}\n")

    def start(self):
        self.write_config()
        # Port 25 of our address may still be held for a moment by the
        # last test's server going away: try again a few times.
        for attempt in range(10):
            self.logf = open(self.log_path, "a")
            self.proc = subprocess.Popen([BIN, "serve", "--config", self.config_path],
                                         stdout=self.logf, stderr=subprocess.STDOUT,
                                         env=ENV, start_new_session=True)
            try:
                wait_addr(self.ip, 25, self.proc)
                wait_addr("127.0.0.1", self.submission_port, self.proc)
                return self
            except AssertionError:
                self.proc.wait()
                self.proc = None
                self.logf.close()
                if attempt == 9 or "in use" not in self.log()[-2000:]:
                    raise
                self.pick_ports()
                self.write_config()
                time.sleep(0.5)
        return self

    def dkim_records(self):
        """`ravelin domain dkim`: the TXT records it says to publish."""
        out = self.cli("domain", "dkim", self.domain).stdout
        records = {}
        for line in out.splitlines():
            m = re.match(r'^(\S+?)\.?\s+(?:\d+\s+)?IN\s+TXT\s+(.*)$', line.strip())
            if m and "._domainkey." in m.group(1):
                records[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
        assert records, out
        return records

    def submit(self, sender, rcpts, msg, password=PASSWORD):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with smtplib.SMTP("127.0.0.1", self.submission_port, timeout=30) as s:
            s.starttls(context=ctx)
            s.login(sender, password)
            return s.sendmail(sender, rcpts, msg)


def wait_addr(ip, port, proc, timeout=30):
    import socket
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection((ip, port), timeout=1) as s:
                s.recv(100)
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{ip}:{port} did not open")


def zone(sites, dkim=None, dmarc="p=reject", extra=None):
    """The records both domains publish, as dnsserver takes them."""
    records = {}
    for domain, ip in sites.items():
        records[(domain, "MX")] = [f"10 mx.{domain}."]
        records[(f"mx.{domain}", "A")] = [ip]
        # Both relays connect from 127.0.0.1 (the kernel picks it for
        # loopback), so that is where their mail comes from.
        records[(domain, "TXT")] = [f"v=spf1 ip4:{ip} ip4:127.0.0.1 -all"]
        records[(f"_dmarc.{domain}", "TXT")] = [f"v=DMARC1; {dmarc}"]
    for name, text in (dkim or {}).items():
        records[(name, "TXT")] = [text]
    for key, value in (extra or {}).items():
        records[key] = value
    return records


class Pair:
    """a.test and b.test with DNS; alice@a.test and bob@b.test exist."""

    def __init__(self, a_config="", b_config="", records=None):
        self.a = Site("a.test", SITES["a.test"], a_config)
        self.b = Site("b.test", SITES["b.test"], b_config)
        for site, user in ((self.a, "alice"), (self.b, "bob")):
            site.cli("domain", "add", site.domain)
            site.add_account(f"{user}@{site.domain}", PASSWORD)
        dkim = dict(self.a.dkim_records())
        dkim.update(self.b.dkim_records())
        self.records = zone(SITES, dkim, extra=records)
        self.dns = dnsserver.DnsServer(self.records).start()
        for site in (self.a, self.b):
            site.resolver = self.dns.address
            site.write_config()

    def start(self):
        # A server that does not come up takes down what did: port 25 of
        # 127.0.0.2/3 must be free for the next test.
        try:
            self.b.start()
            self.a.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for site in (self.a, self.b):
            if site.proc is not None:
                site.stop()
        self.dns.stop()
