"""Hostile requests after login, through the whole path: TLS, the pre-auth
process's login, the hand-over, the worker's HTTP side and DAV.  Each case
checks what the client sees and that nothing reached another account (bob,
looked at by logging in as bob) or any file: recurrence bombs, XML
entities and nesting, dot segments and encoded separators in paths and
Destination headers, headers naming another account or server, the 2021
Exchange request shapes, oversized and smuggled requests, and the object
size limit.  The limits are the named constants of the C sources."""
import os
import socket
import time

import pytest

import conftest
from conftest import check_no_sanitizer_reports, make_server, server_pid, server_pids
from test_http_front import ALICE, PASSWORD, Raw, ask, basic, https, refused_while_sending

BOB = "bob@example.org"
CAL = f"/dav/calendars/{ALICE}/calendar/"
BOB_CAL = f"/dav/calendars/{BOB}/calendar/"
# src/http/http-parser.h
HTTP_MAX_BODY = 4 * 1024 * 1024
# src/dav/dav-xml.h
DAV_XML_MAX_DEPTH = 32
DAV_XML_MAX_NODES = 10000
# src/dav/dav.h
DAV_MAX_RESPONSE = 32 * 1024 * 1024
# src/store/dav-store.h
DAV_MAX_OBJECT_SIZE = 1024 * 1024
# src/ical/ical.h
ICAL_MAX_INSTANCES = 5000
# How much CPU the server's workers may spend on one hostile request under
# the sanitizers (ICAL_MAX_CPU_NS is one second of work per object; the
# debug build is slower than that).  CPU time, not wall time: on a loaded
# machine a request waits for a CPU longer than it works.
ANSWER_SECONDS = 5
# How long a client waits for an answer: only a wait (the bound on the
# work is ANSWER_SECONDS of CPU), long enough for a machine at load 50.
ANSWER_WAIT = 120
# How much a worker may grow while it answers about a bomb: far below what
# expanding one would take (gigabytes), above what the sanitizer's allocator
# keeps resident of freed chunks with a small quarantine (LEAN_QUARANTINE):
# some 150 MB after a free/busy REPORT of 5000 periods grown one at a time.
MAX_GROWTH_KB = 256 * 1024
# ASan's quarantine (256 MB by default) holds freed memory resident, which
# would measure the sanitizer rather than the worker.
LEAN_QUARANTINE = ":quarantine_size_mb=8"


def auth(user=ALICE):
    return {"Authorization": basic(user, PASSWORD)}


def event(uid, lines=""):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Ravelin tests//EN\r\n"
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"
            "DTSTART:20260101T100000Z\r\nDURATION:PT1H\r\nSUMMARY:hostile\r\n"
            f"{lines}END:VEVENT\r\nEND:VCALENDAR\r\n")


def login(server, user=ALICE, timeout=30):
    """An HTTPS connection on which user has logged in (its first request
    carried the credentials and was answered by the worker)."""
    c = https(server, timeout=timeout)
    r, _ = ask(c, "OPTIONS", "/dav/", headers=auth(user))
    assert r.status == 200
    return c


def raw_login(server, user=ALICE, timeout=20):
    c = Raw(server.https_port, timeout=timeout)
    c.send(f"OPTIONS /dav/ HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(user, PASSWORD)}\r\n\r\n")
    a = c.answer()
    assert a is not None and a[0] == 200
    return c


def put(c, path, data, user=ALICE):
    return ask(c, "PUT", path, body=data.encode() if isinstance(data, str) else data,
               headers={**auth(user), "Content-Type": "text/calendar; charset=utf-8"})


def listing(c, path, user=ALICE):
    """The hrefs and ETags of a collection's members (PROPFIND Depth 1)."""
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/>'
            "</D:prop></D:propfind>")
    r, data = ask(c, "PROPFIND", path, body=body,
                  headers={**auth(user), "Depth": "1", "Content-Type": "application/xml"})
    assert r.status == 207, data
    return data


def bob_state(server):
    """Everything of bob's a request of alice's could have changed."""
    c = login(server, BOB)
    state = [listing(c, f"/dav/calendars/{BOB}/{coll}/", BOB) for coll in ("calendar", "tasks")]
    state.append(listing(c, f"/dav/addressbooks/{BOB}/contacts/", BOB))
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/>'
            "</D:prop></D:propfind>")
    r, data = ask(c, "PROPFIND", f"/dav/calendars/{BOB}/", body=body,
                  headers={**auth(BOB), "Depth": "1"})
    assert r.status == 207
    state.append(data)
    c.close()
    return state


def bob_with_event(server):
    """bob gets one event of his own; returns his state."""
    c = login(server, BOB)
    r, _ = put(c, BOB_CAL + "bob-own.ics", event("bob-own"), BOB)
    assert r.status == 201
    c.close()
    return bob_state(server)


def no_stray_files(server):
    """Names from requests never became file names anywhere in the data."""
    for root, dirs, files in os.walk(server.data):
        for name in dirs + files:
            low = name.lower()
            assert not low.endswith((".ics", ".vcf")), os.path.join(root, name)
            assert "passwd" not in low and "evil" not in low, os.path.join(root, name)


def worker_pid(server, address=ALICE):
    account = os.path.basename(server.account_dir(address))
    return server_pid(server, f"--role worker --account {account}$")


def memory_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def workers_cpu(server):
    """pid -> CPU seconds (utime + stime) of each of server's workers (one
    that ends while it is read is left out)."""
    found = {}
    for pid in server_pids(server, "--role worker"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def timed(server, c, method, path, body=None, headers=None):
    """ask(), answered within ANSWER_SECONDS of the workers' CPU (a worker
    started meanwhile counts whole) and ANSWER_WAIT of the clock."""
    before = workers_cpu(server)
    start = time.monotonic()
    r, data = ask(c, method, path, body=body, headers={**auth(), **(headers or {})})
    took = time.monotonic() - start
    spent = sum(t - before.get(pid, 0.0) for pid, t in workers_cpu(server).items())
    assert spent < ANSWER_SECONDS and took < ANSWER_WAIT, (method, path, spent, took)
    return r, data


def still_answers(server, c):
    r, _ = timed(server, c, "OPTIONS", CAL)
    assert r.status == 200


# --- recurrence bombs ---------------------------------------------------------

BOMBS = {
    "secondly-billion": "RRULE:FREQ=SECONDLY;COUNT=1000000000\r\n",
    "yearly-never": "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\r\n",
    "secondly-never": "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n",
    "minutely-forever": "RRULE:FREQ=MINUTELY\r\n",
    "exdates": "RRULE:FREQ=HOURLY\r\n" + "".join(
        f"EXDATE:2026{1 + i // 600 % 12:02d}{1 + i // 24 % 25:02d}T{i % 24:02d}0000Z\r\n"
        for i in range(6000)),
    # Fewer than the EXDATEs: 6000 keep the worker busy for over 5 minutes.
    "rdates": "RRULE:FREQ=DAILY;COUNT=3\r\n" + "".join(
        f"RDATE:2027{1 + i // 600 % 12:02d}{1 + i // 24 % 25:02d}T{i % 24:02d}0000Z\r\n"
        for i in range(2000)),
}

CENTURY = 'start="20000101T000000Z" end="21000101T000000Z"'


def calendar_query(expand):
    data = (f'<C:calendar-data><C:expand {CENTURY}/></C:calendar-data>' if expand
            else "<C:calendar-data/>")
    return ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:prop><D:getetag/>{data}</D:prop><C:filter>"
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f"<C:time-range {CENTURY}/></C:comp-filter></C:comp-filter></C:filter>"
            "</C:calendar-query>")


# The other reports that walk instances, over the same century.
FREE_BUSY = ('<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
             f"<C:time-range {CENTURY}/></C:free-busy-query>")
LIMIT_SET = ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
             'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data>'
             f"<C:limit-recurrence-set {CENTURY}/></C:calendar-data></D:prop>"
             '<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>')
@pytest.fixture
def lean_server(monkeypatch):
    """The server fixture with a small sanitizer quarantine (LEAN_QUARANTINE)."""
    monkeypatch.setitem(conftest.ENV, "ASAN_OPTIONS", conftest.ENV["ASAN_OPTIONS"] + LEAN_QUARANTINE)
    s = make_server().start()
    yield s
    s.stop()
    check_no_sanitizer_reports(s)


@pytest.mark.parametrize("name", list(BOMBS))
def test_recurrence_bomb(lean_server, name):
    server = lean_server
    before = bob_with_event(server)
    c = login(server)
    pid = worker_pid(server)
    base = memory_kb(pid, "VmRSS")
    r, data = timed(server, c, "PUT", CAL + name + ".ics",
                    body=event(name, BOMBS[name]).encode(),
                    headers={"Content-Type": "text/calendar"})
    assert r.status in (201, 403), (r.status, data)
    stored = r.status == 201
    if not stored:
        assert b"valid-calendar-data" in data, data
    still_answers(server, c)
    for expand in (False, True):
        r, data = timed(server, c, "REPORT", CAL, body=calendar_query(expand),
                        headers={"Depth": "1", "Content-Type": "application/xml"})
        assert r.status == 207, data[:2000]
        assert len(data) <= DAV_MAX_RESPONSE
        assert data.count(b"BEGIN:VEVENT") <= (ICAL_MAX_INSTANCES if stored else 0)
        assert data.count(b"<D:response>") == int(stored)
        assert BOB.encode() not in data
        still_answers(server, c)
    r, data = timed(server, c, "REPORT", CAL, body=FREE_BUSY, headers={"Depth": "1"})
    assert r.status == 200 and len(data) <= DAV_MAX_RESPONSE, data[:2000]
    assert data.count(b"FREEBUSY") <= ICAL_MAX_INSTANCES
    r, data = timed(server, c, "REPORT", CAL, body=LIMIT_SET, headers={"Depth": "1"})
    assert r.status == 207 and data.count(b"<D:response>") == int(stored), data[:2000]
    still_answers(server, c)
    # The same REPORT on bob's calendar from alice's connection is not bob's.
    r, data = timed(server, c, "REPORT", BOB_CAL, body=calendar_query(True), headers={"Depth": "1"})
    assert r.status == 404 and b"bob-own" not in data
    assert memory_kb(pid, "VmHWM") - base < MAX_GROWTH_KB
    c.close()
    assert bob_state(server) == before
    no_stray_files(server)


# --- XML entities -----------------------------------------------------------

LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n' + "".join(
    f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
    for i in range(1, 10)) + "]>\n")
EXTERNAL = ('<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n')


def test_xml_entities_refused(server):
    before = bob_with_event(server)
    c = login(server)
    propfind = ('<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>{}</D:displayname>'
                "</D:prop></D:propfind>")
    multiget = ('<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                "<D:prop><C:calendar-data/></D:prop><D:href>{}</D:href></C:calendar-multiget>")
    for doctype, ref in ((LAUGHS, "&lol9;"), (EXTERNAL, "&xxe;")):
        for method, path, body in (("PROPFIND", CAL, propfind), ("REPORT", CAL, multiget),
                                   ("PROPPATCH", CAL, propfind)):
            r, data = timed(server, c, method, path, body=(doctype + body.format(ref)).encode(),
                            headers={"Depth": "0", "Content-Type": "application/xml"})
            assert r.status == 400, (method, doctype, data)
            assert b"root:" not in data and b"lollol" not in data
            still_answers(server, c)
    c.close()
    assert bob_state(server) == before


# --- paths and Destination headers -------------------------------------------

BAD_PATHS = [
    CAL + "../../" + BOB + "/calendar/x.ics",
    CAL + "%2e%2e/%2e%2e/" + BOB + "/calendar/x.ics",
    CAL + "%2E%2E/x.ics",
    CAL + "..%2f..%2f" + BOB + "%2fcalendar%2fx.ics",
    CAL + "x.ics%00.txt",
    CAL + "x%00",
    CAL + "..%5c..%5cx.ics",
    "/dav/../etc/passwd",
    CAL + "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    CAL + "./x.ics",
    CAL + "/x.ics",
]


def test_dot_segments_and_encoded_separators_in_paths(server):
    before = bob_with_event(server)
    c = login(server)
    r, _ = put(c, CAL + "keep.ics", event("keep"))
    assert r.status == 201
    mine = listing(c, CAL)
    for path in BAD_PATHS:
        for method, body in (("GET", None), ("PUT", event("x").encode()), ("DELETE", None),
                             ("PROPFIND", None), ("MKCOL", None)):
            r, data = timed(server, c, method, path, body=body, headers={"Depth": "0"})
            assert r.status in (400, 403, 404), (method, path, r.status)
            assert b"root:" not in data and b"BEGIN:VCALENDAR" not in data
    assert listing(c, CAL) == mine
    c.close()
    assert bob_state(server) == before
    no_stray_files(server)


def test_destination_headers(server):
    before = bob_with_event(server)
    c = login(server)
    here = f"https://127.0.0.1:{server.https_port}"
    r, _ = put(c, CAL + "keep.ics", event("keep"))
    assert r.status == 201
    _, keep = ask(c, "GET", CAL + "keep.ics", headers=auth())
    mine = listing(c, CAL)
    cases = [(d, (400, 403)) for d in (
        CAL + "../../" + BOB + "/calendar/x.ics",
        CAL + "%2e%2e/%2e%2e/" + BOB + "/calendar/x.ics",
        here + CAL + "%2e%2e/x.ics",
        CAL + "..%2f" + "x.ics",
        CAL + "a%2fb.ics",
        CAL + "y.ics%00",
        CAL + "y.ics%00.txt",
        here + CAL + "..%5cx.ics",
        "/dav/../../etc/passwd",
    )]
    cases += [(d, (502,)) for d in (
        "https://evil.example" + CAL + "y.ics",
        "https://127.0.0.1:1" + CAL + "y.ics",
        "http://evil.example:8443" + CAL + "y.ics",
    )]
    # Userinfo in the authority: refused as it is, or as another host.
    cases += [("https://" + BOB + CAL + "y.ics", (400, 502))]
    cases += [(d, (403, 404)) for d in (
        BOB_CAL + "x.ics",
        here + BOB_CAL + "x.ics",
        BOB_CAL + "bob-own.ics",
        f"/dav/addressbooks/{BOB}/contacts/x.vcf",
    )]
    for dest, statuses in cases:
        for method in ("COPY", "MOVE"):
            r, data = timed(server, c, method, CAL + "keep.ics",
                            headers={"Destination": dest, "Overwrite": "T"})
            assert r.status in statuses, (method, dest, r.status, data)
            r, data = ask(c, "GET", CAL + "keep.ics", headers=auth())
            assert r.status == 200 and data == keep, (method, dest)
    assert listing(c, CAL) == mine
    c.close()
    assert bob_state(server) == before
    no_stray_files(server)


# --- headers that name another account or server ------------------------------

FORWARDED = {
    "Host": BOB.split("@")[1],
    "X-Forwarded-For": "127.0.0.2",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Server": "evil.example",
    "X-Forwarded-User": BOB,
    "X-Remote-User": BOB,
    "X-Original-URL": BOB_CAL,
    "X-Rewrite-URL": BOB_CAL,
    "Forwarded": "for=127.0.0.2;host=evil.example",
}


def test_forwarding_headers_ignored(server):
    before = bob_with_event(server)
    c = https(server, timeout=30)
    # The login's request itself carries them too.
    propfind = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
                "<D:current-user-principal/></D:prop></D:propfind>")
    for i in range(2):
        r, data = timed(server, c, "PROPFIND", "/dav/", body=propfind,
                        headers={**FORWARDED, "Depth": "0"})
        assert r.status == 207, data
        assert f"/dav/principals/{ALICE}/".encode() in data
        assert b"bob" not in data and b"evil" not in data
    r, _ = put(c, CAL + "mine.ics", event("mine"))
    assert r.status == 201
    for host in ("evil.example", BOB, "127.0.0.1:1"):
        r, data = timed(server, c, "PROPFIND", CAL,
                        headers={**FORWARDED, "Host": host, "Depth": "1"})
        assert r.status == 207
        assert b"mine.ics" in data and b"bob-own" not in data and b"evil" not in data
    for path in (BOB_CAL, BOB_CAL + "bob-own.ics", f"/dav/principals/{BOB}/"):
        for method in ("GET", "PROPFIND", "DELETE"):
            r, data = timed(server, c, method, path, headers={**FORWARDED, "Depth": "0"})
            assert r.status in (404, 405), (method, path, r.status)
            assert b"bob-own" not in data
    c.close()
    assert bob_state(server) == before
    assert "evil.example" not in server.log()


# --- the 2021 Exchange shapes -----------------------------------------------------

def test_exchange_shapes_neither_answered_nor_forwarded(server):
    before = bob_with_event(server)
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(5)
    trap.settimeout(0.5)
    there = f"127.0.0.1:{trap.getsockname()[1]}"
    cookie = {"Cookie": f"X-BEResource={BOB}/EWS/Exchange.asmx?a=~1942062522; "
              f"X-AnonResource-Backend={there}/ecp/default.flt?~3;"
              f"X-BEResource={there}/EWS/Exchange.asmx?a=~1942062522"}
    paths = [
        "/autodiscover/autodiscover.json?@evil.example/mapi/nspi?&Email="
        "autodiscover/autodiscover.json%3F@evil.example",
        f"/autodiscover/autodiscover.json?@{there}/mapi/nspi?&Email="
        f"autodiscover/autodiscover.json%3F@{there}",
        f"/autodiscover/autodiscover.json?@{there}/owa/?&Email=autodiscover/"
        f"autodiscover.json%3F@{there}&Protocol=PowerShell",
        "/ecp/x.js", "/owa/auth/x.js", "/EWS/Exchange.asmx", "/mapi/nspi/",
        "/ecp/DDI/DDIService.svc/GetObject", "/PowerShell/",
    ]
    soap = ('<?xml version="1.0"?><soap:Envelope xmlns:soap='
            '"http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>')
    # Before login: no account, nothing beyond the pre-auth process.
    c = https(server)
    for path in paths:
        for method, body in (("GET", None), ("POST", soap)):
            r, data = ask(c, method, path, body=body, headers=cookie)
            assert r.status in (401, 404), (method, path, r.status)
    c.close()
    c = login(server)
    for path in paths:
        for method, body in (("GET", None), ("POST", soap)):
            r, data = timed(server, c, method, path, body=body, headers=cookie)
            assert r.status == 404, (method, path, r.status)
            assert b"bob" not in data
    # The cookie on a DAV request changes nothing either.
    r, data = timed(server, c, "PROPFIND", CAL, headers={**cookie, "Depth": "1"})
    assert r.status == 207 and b"bob" not in data
    c.close()
    with pytest.raises(TimeoutError):
        trap.accept()
    trap.close()
    assert bob_state(server) == before
    assert "evil.example" not in server.log()


# --- oversized and smuggled requests after login ----------------------------------

def test_huge_content_length_after_login(server):
    c = raw_login(server)
    pid = worker_pid(server)
    base = memory_kb(pid, "VmRSS")
    waited = 0.0
    for length in (1024 * 1024 * 1024, HTTP_MAX_BODY + 1):
        if length != 1024 * 1024 * 1024:
            c = raw_login(server)
        start = time.monotonic()
        c.send(f"PUT {CAL}big.ics HTTP/1.1\r\nHost: x\r\nAuthorization: "
               f"{basic(ALICE, PASSWORD)}\r\nContent-Type: text/calendar\r\n"
               f"Content-Length: {length}\r\n\r\nBEGIN:VCALENDAR\r\n")
        a = c.answer()
        assert a is not None and a[0] == 413, a
        assert a[1].get("connection") == "close"
        assert c.closed()
        # The refusals are timed, not the second login (argon2id in auth,
        # seconds of it on a loaded machine).
        waited += time.monotonic() - start
        c.close()
    assert waited < ANSWER_SECONDS, waited
    assert memory_kb(pid, "VmRSS") - base < 16 * 1024
    c = login(server)
    r, _ = ask(c, "GET", CAL + "big.ics", headers=auth())
    assert r.status == 404


def test_chunked_body_past_the_limit(server):
    c = raw_login(server)
    pid = worker_pid(server)
    base = memory_kb(pid, "VmRSS")
    c.send(f"PUT {CAL}big.ics HTTP/1.1\r\nHost: x\r\nAuthorization: "
           f"{basic(ALICE, PASSWORD)}\r\nContent-Type: text/calendar\r\n"
           "Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"x" * 64 * 1024)
    refused_while_sending(c, [chunk] * (HTTP_MAX_BODY // (64 * 1024) + 16) + [b"0\r\n\r\n"],
                          413)
    assert memory_kb(pid, "VmRSS") - base < 64 * 1024
    c = login(server)
    r, _ = ask(c, "GET", CAL + "big.ics", headers=auth())
    assert r.status == 404


def test_many_headers_after_login(server):
    c = raw_login(server)
    head = (f"GET {CAL} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(ALICE, PASSWORD)}\r\n"
            + "".join(f"X-H{i}: v\r\n" for i in range(100000)) + "\r\n")
    refused_while_sending(c, [head], 431)
    still_answers(server, login(server))


def test_refused_request_sent_whole_before_reading(server):
    """A client that writes all of a refused request before it reads
    still hears why: the server drops the rest instead of resetting the
    connection, and ends it at once after the answer."""
    c = raw_login(server)
    head = (f"GET {CAL} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(ALICE, PASSWORD)}\r\n"
            + "".join(f"X-H{i}: v\r\n" for i in range(100000)) + "\r\n")
    c.send(head)
    a = c.answer()
    assert a is not None and a[0] == 431, a
    assert a[1].get("connection") == "close"
    start = time.monotonic()
    assert c.closed()
    assert time.monotonic() - start < 1
    c.close()
    still_answers(server, login(server))


SMUGGLED = (f"DELETE {CAL}keep.ics HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {basic(ALICE, PASSWORD)}\r\n\r\n")


@pytest.mark.parametrize("fields,body,statuses", [
    ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n", (400,)),
    ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n", (400,)),
    ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n", (400,)),
    ("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", "0\r\n\r\n", (400,)),
    ("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n", (400,)),
    ("Transfer-Encoding : chunked\r\n", "0\r\n\r\n", (400,)),
    ("Transfer-Encoding:\tchunked\r\nTransfer-Encoding: x\r\n", "0\r\n\r\n", (400,)),
    ("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n", (400, 501)),
    ("Content-Length: 0\r\nContent-Length: 5\r\n", "hello", (400,)),
    ("Content-Length: 5, 0\r\n", "hello", (400,)),
], ids=["cl-te", "te-cl", "te-te", "te-identity", "te-list", "te-space", "te-tab",
        "te-xchunked", "cl-cl", "cl-list"])
def test_smuggling_after_login(server, fields, body, statuses):
    c = login(server)
    r, _ = put(c, CAL + "keep.ics", event("keep"))
    assert r.status == 201
    c.close()
    c = raw_login(server)
    c.send(f"PROPPATCH {CAL} HTTP/1.1\r\nHost: x\r\nAuthorization: {basic(ALICE, PASSWORD)}\r\n"
           f"{fields}\r\n{body}{SMUGGLED}")
    a = c.answer()
    assert a is not None and a[0] in statuses, a
    assert a[1].get("connection") == "close"
    assert c.answer() is None  # the smuggled request is never answered
    c.close()
    c = login(server)
    r, _ = ask(c, "GET", CAL + "keep.ics", headers=auth())
    assert r.status == 200


# --- XML shape limits ----------------------------------------------------------------

def nested(depth):
    """A PROPFIND body whose elements nest depth deep."""
    inner = depth - 2
    return ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
            + "".join(f"<X:e{i} xmlns:X=\"urn:x\">" for i in range(inner))
            + "".join(f"</X:e{i}>" for i in reversed(range(inner)))
            + "</D:prop></D:propfind>")


def many(nodes):
    """A PROPFIND body of nodes elements."""
    return ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>'
            + "<D:getetag/>" * (nodes - 2) + "</D:prop></D:propfind>")


def test_xml_depth_and_node_limits(server):
    c = login(server)
    for body, status in ((nested(DAV_XML_MAX_DEPTH), 207), (nested(DAV_XML_MAX_DEPTH + 1), 400),
                         (many(DAV_XML_MAX_NODES), 207), (many(DAV_XML_MAX_NODES + 1), 400),
                         (nested(100000), 400), (many(200000), 400)):
        r, data = timed(server, c, "PROPFIND", CAL, body=body.encode(),
                        headers={"Depth": "0", "Content-Type": "application/xml"})
        assert r.status == status, (len(body), data[:300])
        still_answers(server, c)


# --- object size ------------------------------------------------------------------

def sized_event(size):
    """A valid event of exactly size octets (a long folded DESCRIPTION)."""
    head = event("big", "DESCRIPTION:")
    fixed = len(head) + 2  # the DESCRIPTION line's CRLF
    n = size - fixed
    # Each folded line: CRLF SP + 73 octets of text.
    text, left = [], n
    first = 60
    text.append("d" * min(first, left))
    left -= len(text[0])
    while left > 0:
        take = min(73, left - 3) if left > 3 else 0
        if take <= 0:
            text[-1] += "d" * left
            break
        text.append("\r\n " + "d" * take)
        left -= take + 3
    data = head.replace("DESCRIPTION:", "DESCRIPTION:" + "".join(text) + "\r\n")
    assert len(data) == size, (len(data), size)
    return data


def test_object_size_limit(server):
    c = login(server)
    r, data = timed(server, c, "PUT", CAL + "limit.ics",
                    body=sized_event(DAV_MAX_OBJECT_SIZE).encode(),
                    headers={"Content-Type": "text/calendar"})
    assert r.status == 201, data
    r, data = timed(server, c, "PUT", CAL + "past.ics",
                    body=sized_event(DAV_MAX_OBJECT_SIZE + 1).encode(),
                    headers={"Content-Type": "text/calendar"})
    assert r.status == 403 and b"max-resource-size" in data, (r.status, data)
    r, _ = ask(c, "GET", CAL + "past.ics", headers=auth())
    assert r.status == 404
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nFN:big\r\nNOTE:"
            + "n" * DAV_MAX_OBJECT_SIZE + "\r\nEND:VCARD\r\n")
    r, data = timed(server, c, "PUT", f"/dav/addressbooks/{ALICE}/contacts/big.vcf",
                    body=card.encode(), headers={"Content-Type": "text/vcard"})
    assert r.status == 403 and b"max-resource-size" in data, (r.status, data)
    still_answers(server, c)


def test_free_busy_bomb_hides_no_other_event(server):
    """An object past the busy-period limit adds nothing: the account's
    other events stay busy in the answer."""
    c = login(server)
    r, _ = put(c, CAL + "bomb.ics", event("bomb", BOMBS["secondly-billion"]))
    assert r.status == 201
    meeting = event("meeting").replace("20260101T100000Z", "20300601T080000Z")
    r, _ = put(c, CAL + "meeting.ics", meeting)
    assert r.status == 201
    r, data = timed(server, c, "REPORT", CAL, body=FREE_BUSY, headers={"Depth": "1"})
    assert r.status == 200
    assert b"FREEBUSY;FBTYPE=BUSY:20300601T080000Z/20300601T090000Z" in data, data
