"""vdirsyncer (Debian) syncing alice's calendars and address book with local
folders both ways, then khal and khard reading what arrived.

Everything runs with a temporary HOME and XDG directories; every command is
bounded.  The server is dav_util's `dav` fixture (Ravelin; Radicale with
DAV_TEST_PEER=radicale to check the client side).
"""
import hashlib
import os
import ssl
import subprocess
import tempfile

from dav_util import dav  # noqa: F401 (fixture)

# Seconds one vdirsyncer, khal or khard run may take.
COMMAND_TIMEOUT = 120

EVENT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Ravelin tests//EN\r
BEGIN:VEVENT\r
UID:{uid}\r
DTSTAMP:20261201T000000Z\r
DTSTART:{start}\r
DTEND:{end}\r
SUMMARY:{summary}\r
END:VEVENT\r
END:VCALENDAR\r
"""

CARD = """BEGIN:VCARD\r
VERSION:3.0\r
UID:{uid}\r
FN:{fn}\r
N:{last};{first};;;\r
EMAIL:{email}\r
END:VCARD\r
"""


def cert_fingerprint(port):
    pem = ssl.get_server_certificate(("127.0.0.1", port), timeout=30)
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


class Env:
    def __init__(self, dav):
        self.dav = dav
        self.dir = tempfile.mkdtemp(prefix="ravelin-vdir-")
        self.home = os.path.join(self.dir, "home")
        self.cal = os.path.join(self.dir, "calendars")
        self.book = os.path.join(self.dir, "contacts")
        os.makedirs(self.home)
        self.env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                        XDG_DATA_HOME=os.path.join(self.home, ".local", "share"),
                        XDG_CACHE_HOME=os.path.join(self.home, ".cache"), LC_ALL="C.UTF-8",
                        TZ="Europe/Berlin")
        self.config = os.path.join(self.dir, "vdirsyncer.conf")
        with open(self.config, "w") as f:
            f.write(self.vdirsyncer_config())

    def vdirsyncer_config(self):
        d = self.dav
        remote = f'url = "{d.base}/"\nusername = "{d.user}"\npassword = "{d.password}"\nauth = "basic"\n'
        if d.tls:
            # vdirsyncer 0.19 has no verify = false: the self-signed
            # certificate is pinned by its SHA-256 fingerprint instead.
            remote += f'verify_fingerprint = "{cert_fingerprint(d.port)}"\n'
        if d.kind == "xandikos":
            remote = remote.replace(f'{d.base}/', d.url(d.principal))
        return f"""[general]
status_path = "{self.dir}/status/"

[pair cal]
a = "cal_local"
b = "cal_remote"
collections = ["from b"]

[storage cal_local]
type = "filesystem"
path = "{self.cal}/"
fileext = ".ics"

[storage cal_remote]
type = "caldav"
{remote}
[pair book]
a = "book_local"
b = "book_remote"
collections = ["from b"]

[storage book_local]
type = "filesystem"
path = "{self.book}/"
fileext = ".vcf"

[storage book_remote]
type = "carddav"
{remote}"""

    def run(self, *cmd, input=None):
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, env=self.env,
                           timeout=COMMAND_TIMEOUT, cwd=self.dir)
        assert r.returncode == 0, f"{cmd}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r.stdout + r.stderr

    def vdirsyncer(self, *args, input=None):
        return self.run("vdirsyncer", "-c", self.config, *args, input=input)


def local_dir(root, collection_path):
    return os.path.join(root, collection_path.rstrip("/").rsplit("/", 1)[1])


def local_uids(folder):
    uids = set()
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            for line in f:
                if line.startswith("UID:"):
                    uids.add(line[4:].strip())
    return uids


def remote_uids(dav, path, ext):
    """UIDs of every object of a collection, read back object by object."""
    import xml.etree.ElementTree as ET
    import urllib.parse
    h = dav.http()
    r = h.request("PROPFIND", path, '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>'
                  '</D:prop></D:propfind>', {"Depth": "1", "Content-Type": "application/xml"})
    assert r.status == 207, r
    uids = set()
    for href in ET.fromstring(r.body).iter("{DAV:}href"):
        p = urllib.parse.unquote(urllib.parse.urlsplit(href.text.strip()).path)
        if p.rstrip("/") == path.rstrip("/"):
            continue
        g = h.request("GET", p)
        assert g.status == 200, g
        uids |= {line[4:].strip() for line in g.text.splitlines() if line.startswith("UID:")}
    return uids


def server_put(dav, name, event, person):
    """PUTs an event (start, end, summary) and a contact (name, e-mail)
    named name on the server, as another device would."""
    h = dav.http()
    start, end, summary = event
    r = h.request("PUT", dav.calendar + name + ".ics",
                  EVENT.format(uid=name, start=start, end=end, summary=summary),
                  {"Content-Type": "text/calendar"})
    assert r.status == 201, r
    first, last = person[0].split()
    r = h.request("PUT", dav.contacts + name + ".vcf",
                  CARD.format(uid="card-" + name, fn=person[0], first=first, last=last, email=person[1]),
                  {"Content-Type": "text/vcard"})
    assert r.status == 201, r


def test_vdirsyncer_two_way_then_khal_and_khard(dav):
    e = Env(dav)
    # Something on the server before the first sync.
    server_put(dav, "server-1", ("20270115T090000Z", "20270115T100000Z", "Planning with the server"),
               ("Ada Lovelace", "ada@example.net"))

    out = e.vdirsyncer("discover", input="y\n" * 20)
    cal_dir = local_dir(e.cal, dav.calendar)
    book_dir = local_dir(e.book, dav.contacts)
    assert os.path.isdir(cal_dir) and os.path.isdir(book_dir), out + str(os.listdir(e.dir))
    out = e.vdirsyncer("sync")
    assert local_uids(cal_dir) == {"server-1"}, out
    assert local_uids(book_dir) == {"card-server-1"}, out

    # Changes on both sides.
    with open(os.path.join(cal_dir, "local-1.ics"), "w", newline="") as f:
        f.write(EVENT.format(uid="local-1", start="20270116T140000Z", end="20270116T150000Z",
                             summary="Dentist from the laptop"))
    with open(os.path.join(book_dir, "local-1.vcf"), "w", newline="") as f:
        f.write(CARD.format(uid="card-local-1", fn="Grace Hopper", first="Grace", last="Hopper",
                            email="grace@example.net"))
    server_put(dav, "server-2", ("20270116T080000Z", "20270116T083000Z", "Call from the phone"),
               ("Alan Turing", "alan@example.com"))

    out = e.vdirsyncer("sync")
    want_events = {"server-1", "server-2", "local-1"}
    want_cards = {"card-server-1", "card-server-2", "card-local-1"}
    assert local_uids(cal_dir) == want_events, out
    assert local_uids(book_dir) == want_cards, out
    assert remote_uids(dav, dav.calendar, ".ics") == want_events, out
    assert remote_uids(dav, dav.contacts, ".vcf") == want_cards, out

    out = e.vdirsyncer("sync")
    assert "conflict" not in out.lower() and "Copying" not in out and "Updating" not in out, out

    # khal shows the synced events on their days (local time Europe/Berlin).
    khal_conf = os.path.join(e.dir, "khal.conf")
    with open(khal_conf, "w") as f:
        f.write(f"""[calendars]
[[work]]
path = {cal_dir}
type = calendar
[locale]
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
local_timezone = Europe/Berlin
default_timezone = Europe/Berlin
[default]
default_calendar = work
""")
    out = e.run("khal", "-c", khal_conf, "list", "--format", "{start-time} {title}",
                "2027-01-15", "2027-01-17")
    assert "10:00 Planning with the server" in out, out
    assert "15:00 Dentist from the laptop" in out, out
    assert "09:00 Call from the phone" in out, out
    out = e.run("khal", "-c", khal_conf, "list", "2027-01-18", "2027-01-19")
    assert "Planning" not in out and "Dentist" not in out, out

    # khard lists the synced contacts.
    khard_conf = os.path.join(e.dir, "khard.conf")
    with open(khard_conf, "w") as f:
        f.write(f"""[addressbooks]
[[contacts]]
path = {book_dir}
[general]
default_action = list
editor = /bin/true
merge_editor = /bin/true
""")
    out = e.run("khard", "-c", khard_conf, "list")
    for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing"):
        assert name in out, out
