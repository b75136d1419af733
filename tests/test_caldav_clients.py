"""CalDAV and CardDAV as real clients use them: python3-caldav (Debian's
0.11) for discovery, calendars, events, searches, todos, free/busy and
sync tokens; http.client for CardDAV (python3-caldav has none).

Every test takes its server from dav_util's `dav` fixture (Ravelin; or
Radicale with DAV_TEST_PEER=radicale, to check the client side; Xandikos
fails more of them on its own account).  The
events are in 2027 and use Europe/Berlin, so the instances a user sees are
fixed whatever today is.
"""
import datetime
import os
import re
import urllib.parse
import xml.etree.ElementTree as ET

import caldav
import pytest
import requests

from dav_util import NS, TIMEOUT, dav, propstats, sync_token_of  # noqa: F401 (fixture)

UTC = datetime.timezone.utc


def client(t, url):
    """python3-caldav as configured by a user: it sends the credentials
    once challenged.  Radicale without authentication never challenges, so
    there they go with every request."""
    auth = None if t.kind == "ravelin" else requests.auth.HTTPBasicAuth(t.user, t.password)
    return caldav.DAVClient(url, username=t.user, password=t.password, auth=auth,
                            ssl_verify_cert=False, timeout=TIMEOUT)


def path_of(url):
    return urllib.parse.unquote(urllib.parse.urlsplit(str(url)).path)


def only_ravelin(t):
    if t.kind != "ravelin":
        pytest.skip("Ravelin's own document")


def check_discovered(t, principal):
    assert path_of(principal.url) == t.principal
    assert path_of(principal.calendar_home_set.url) == t.calendar_home
    found = {path_of(c.url) for c in principal.calendars()}
    assert {t.calendar, t.tasks} <= found, found


def test_discovery_from_bare_url(dav):
    c = client(dav, dav.base + "/")
    check_discovered(dav, c.principal())


def test_discovery_via_well_known(dav):
    if dav.kind == "ravelin":
        # Any redirect (RFC 6764 5); python3-caldav (requests) drops the
        # PROPFIND body on a 301 or 302, so what /dav/ answers to an empty
        # PROPFIND (allprop) must then name the principal.
        r = dav.http().request("PROPFIND", "/.well-known/caldav", auth=False, headers={"Depth": "0"})
        assert r.status in (301, 307, 308), r
        assert path_of(r.header("Location")) == "/dav/", r
        r = dav.http().request("GET", "/.well-known/carddav", auth=False)
        assert r.status in (301, 307, 308) and path_of(r.header("Location")) == "/dav/", r
    c = client(dav, dav.base + "/.well-known/caldav")
    check_discovered(dav, c.principal())


def test_discovery_from_email_address(dav):
    """What Thunderbird does with only an address: the autoconfig document
    (no login), then its CalDAV server URL."""
    only_ravelin(dav)
    r = dav.http().request(
        "GET", "/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=" + dav.user, auth=False)
    assert r.status == 200, r
    root = ET.fromstring(r.body)
    cal = root.find(".//calendar[@type='caldav']")
    assert cal is not None, r.text
    url = cal.findtext("serverURL").strip()
    user = cal.findtext("username", "").strip().replace("%EMAILADDRESS%", dav.user)
    assert user == dav.user
    u = urllib.parse.urlsplit(url)
    assert u.scheme == "https" and u.port == dav.port, url
    # The document names the server by its host name; the test reaches it on loopback.
    local = urllib.parse.urlunsplit(("https", f"127.0.0.1:{u.port}", u.path, u.query, ""))
    check_discovered(dav, client(dav, local).principal())
    book = root.find(".//addressBook[@type='carddav']")
    assert book is not None and urllib.parse.urlsplit(book.findtext("serverURL")).port == dav.port


BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


def vcal(body, tz=False):
    return ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Ravelin tests//EN\n" + (BERLIN if tz else "")
            + body + "END:VCALENDAR\n").replace("\n", "\r\n")


SINGLE = vcal("""BEGIN:VEVENT
UID:single-1
DTSTAMP:20261201T000000Z
DTSTART:20270115T100000Z
DTEND:20270115T110000Z
SUMMARY:Single meeting
END:VEVENT
""")

# Mondays 09:00 Berlin (08:00Z in winter) from 4 January 2027, six times;
# 11 January taken out, 18 January moved to Tuesday 19th 14:00.
WEEKLY = vcal("""BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20261201T000000Z
DTSTART;TZID=Europe/Berlin:20270104T090000
DTEND;TZID=Europe/Berlin:20270104T093000
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE;TZID=Europe/Berlin:20270111T090000
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20261201T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20270118T090000
DTSTART;TZID=Europe/Berlin:20270119T140000
DTEND;TZID=Europe/Berlin:20270119T143000
SUMMARY:Standup (moved)
END:VEVENT
""", tz=True)

ALLDAY = vcal("""BEGIN:VEVENT
UID:allday-1
DTSTAMP:20261201T000000Z
DTSTART;VALUE=DATE:20270120
DTEND;VALUE=DATE:20270121
SUMMARY:Holiday
END:VEVENT
""")

# 18:00 Berlin in summer is 16:00Z.
SUMMER = vcal("""BEGIN:VEVENT
UID:berlin-1
DTSTAMP:20261201T000000Z
DTSTART;TZID=Europe/Berlin:20270722T180000
DTEND;TZID=Europe/Berlin:20270722T190000
SUMMARY:Summer evening
END:VEVENT
""", tz=True)


def utc(*a):
    return datetime.datetime(*a, tzinfo=UTC)


def uids(objs):
    return sorted({str(o.icalendar_instance.walk("VEVENT")[0]["UID"]) for o in objs})


def new_calendar(dav, cal_id="work", name="Work"):
    p = client(dav, dav.url(dav.principal)).principal()
    cal = p.make_calendar(name=name, cal_id=cal_id, supported_calendar_component_set=["VEVENT"])
    assert path_of(cal.url) == dav.calendar_home + cal_id + "/"
    return p, cal


def test_calendar_events_and_searches(dav):
    p, cal = new_calendar(dav)
    assert dav.calendar_home + "work/" in {path_of(c.url) for c in p.calendars()}
    assert cal.get_display_name() == "Work"
    for data in (SINGLE, WEEKLY, ALLDAY, SUMMER):
        cal.save_event(data)
    assert uids(cal.events()) == ["allday-1", "berlin-1", "single-1", "weekly-1"]

    # 10-17 January: the Monday standup of the 11th is an EXDATE.
    assert uids(cal.search(start=utc(2027, 1, 10), end=utc(2027, 1, 17), event=True)) == ["single-1"]
    # 19-21 January: the moved standup and the all-day event.
    assert uids(cal.search(start=utc(2027, 1, 19), end=utc(2027, 1, 21), event=True)) == \
        ["allday-1", "weekly-1"]
    # The summer event is 16:00-17:00Z, not 18:00Z: the VTIMEZONE counts.
    assert uids(cal.search(start=utc(2027, 7, 22, 15, 30), end=utc(2027, 7, 22, 16, 30), event=True)) == \
        ["berlin-1"]
    assert cal.search(start=utc(2027, 7, 22, 17, 30), end=utc(2027, 7, 22, 18, 30), event=True) == []
    # Nothing before the series starts.
    assert cal.search(start=utc(2026, 12, 1), end=utc(2027, 1, 3), event=True) == []

    # Expanded: the instances of January and February a user sees.
    seen = []
    for o in cal.search(start=utc(2027, 1, 1), end=utc(2027, 3, 1), event=True, expand=True):
        ev = o.icalendar_instance.walk("VEVENT")[0]
        if str(ev["UID"]) == "weekly-1":
            seen.append((ev.decoded("DTSTART").astimezone(UTC), str(ev["SUMMARY"])))
    assert sorted(seen) == [
        (utc(2027, 1, 4, 8), "Standup"), (utc(2027, 1, 19, 13), "Standup (moved)"),
        (utc(2027, 1, 25, 8), "Standup"), (utc(2027, 2, 1, 8), "Standup"),
        (utc(2027, 2, 8, 8), "Standup")]


def expand_report(t, path, start, end):
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
 <D:prop><D:getetag/><C:calendar-data><C:expand start="{start}" end="{end}"/></C:calendar-data></D:prop>
 <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
  <C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
    return t.http().request("REPORT", path, body, {"Depth": "1", "Content-Type": "application/xml"})


def test_server_side_expand(dav):
    """The server expands (RFC 4791 9.6.5): instances in UTC with a
    RECURRENCE-ID each, no RRULE or EXDATE left."""
    if dav.kind == "xandikos":
        pytest.skip("Xandikos does not implement expand")
    h = dav.http()
    r = h.request("PUT", dav.calendar + "weekly.ics", WEEKLY, {"Content-Type": "text/calendar"})
    assert r.status == 201, r
    r = expand_report(dav, dav.calendar, "20270110T000000Z", "20270201T000000Z")
    assert r.status == 207, r
    (data,) = [p["{urn:ietf:params:xml:ns:caldav}calendar-data"][0].text
               for _, p in propstats(r.body).values()]
    events = re.sub(r"BEGIN:VTIMEZONE.*?END:VTIMEZONE\r?\n", "", data, flags=re.S)
    if dav.kind == "radicale" and "RRULE" in events:
        pytest.xfail("Radicale 3.1 leaves a series with an overridden instance unexpanded")
    assert "RRULE" not in events and "EXDATE" not in events, data
    assert events.count("RECURRENCE-ID") == 2, data
    starts = sorted(line.split(":", 1)[1].strip() for line in events.splitlines()
                    if line.startswith("DTSTART"))
    assert starts == ["20270119T130000Z", "20270125T080000Z"], data


def test_todos(dav):
    tasks = caldav.Calendar(client=client(dav, dav.url(dav.principal)), url=dav.url(dav.tasks))
    for i, (summary, due) in enumerate((("Write report", "20270110"), ("Call plumber", "20270105"))):
        tasks.save_todo(vcal(f"""BEGIN:VTODO
UID:todo-{i}
DTSTAMP:20261201T000000Z
DUE;VALUE=DATE:{due}
SUMMARY:{summary}
STATUS:NEEDS-ACTION
END:VTODO
"""))
    todos = tasks.todos()
    assert [str(t.icalendar_instance.walk("VTODO")[0]["SUMMARY"]) for t in todos] == \
        ["Call plumber", "Write report"]
    todos[0].complete()
    left = tasks.todos()
    assert [str(t.icalendar_instance.walk("VTODO")[0]["SUMMARY"]) for t in left] == ["Write report"]
    done = [t for t in tasks.todos(include_completed=True)
            if str(t.icalendar_instance.walk("VTODO")[0].get("STATUS")) == "COMPLETED"]
    assert len(done) == 1 and re.search(r"\nCOMPLETED[;:]", done[0].data), done[0].data


def ical_utc(text):
    return datetime.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def busy_periods(text):
    """The FREEBUSY periods of a VFREEBUSY (start/end or start/duration)
    as (start, end) in UTC."""
    out = []
    unfolded = text.replace("\r\n ", "").replace("\n ", "")
    for line in unfolded.splitlines():
        if not line.upper().startswith("FREEBUSY"):
            continue
        for per in line.split(":", 1)[1].split(","):
            s, e = per.strip().split("/")
            start = ical_utc(s)
            if e.startswith("P"):
                m = re.fullmatch(r"PT?(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", e)
                d, h, mi, se = (int(x or 0) for x in m.groups())
                out.append((start, start + datetime.timedelta(days=d, hours=h, minutes=mi, seconds=se)))
            else:
                out.append((start, ical_utc(e)))
    return out


def test_freebusy(dav):
    if dav.kind == "xandikos":
        pytest.skip("Xandikos answers free-busy-query with 501")
    _, cal = new_calendar(dav)
    for data in (SINGLE, WEEKLY, ALLDAY):
        cal.save_event(data)
    fb = cal.freebusy_request(utc(2027, 1, 14), utc(2027, 1, 20))
    if dav.kind != "ravelin" and "VFREEBUSY" not in fb.data:
        pytest.skip(f"{dav.kind} answers free-busy-query without a VFREEBUSY")
    got = sorted(busy_periods(fb.data))
    # The single meeting and the moved standup; nothing else in those days.
    assert got == [(utc(2027, 1, 15, 10), utc(2027, 1, 15, 11)),
                   (utc(2027, 1, 19, 13), utc(2027, 1, 19, 13, 30))], fb.data


def test_sync_token_after_edit_and_delete(dav):
    _, cal = new_calendar(dav)
    a = cal.save_event(SINGLE)
    b = cal.save_event(ALLDAY)
    cal.save_event(SUMMER)
    coll = cal.objects_by_sync_token(load_objects=True)
    token = coll.sync_token
    assert token and len(list(coll)) == 3
    # Nothing changed: nothing to report.
    assert list(cal.objects_by_sync_token(sync_token=token)) == []
    a.data = a.data.replace("Single meeting", "Single meeting (room 2)")
    a.save()
    b.delete()
    changed = cal.objects_by_sync_token(sync_token=token)
    assert changed.sync_token != token
    assert {path_of(o.url) for o in changed} == {path_of(a.url), path_of(b.url)}
    updated, deleted = coll.sync()
    assert [path_of(o.url) for o in updated] == [path_of(a.url)]
    assert "room 2" in updated[0].data
    assert [path_of(o.url) for o in deleted] == [path_of(b.url)]
    # The deletion is a 404 response in the sync report itself (RFC 6578 3.5.2).
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>
<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"""
    r = dav.http().request("REPORT", path_of(cal.url), body, {"Content-Type": "application/xml"})
    assert r.status == 207, r
    res = propstats(r.body)
    assert "404" in (res[path_of(b.url)][0] or ""), r
    assert sync_token_of(r.body) == changed.sync_token


def test_invalid_event_refused(dav):
    h = dav.http()
    for body in ("this is not a calendar\r\n",
                 "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:no end\r\n"):
        r = h.request("PUT", dav.calendar + "broken.ics", body, {"Content-Type": "text/calendar"})
        if dav.kind != "ravelin":
            assert 400 <= r.status < 500, r
            continue
        assert r.status == 403, r
        assert ET.fromstring(r.body).find("c:valid-calendar-data", NS) is not None, r
    r = h.request("GET", dav.calendar + "broken.ics")
    assert r.status == 404, r


def vcard(uid, fn, email, version="3.0"):
    n = fn.split()
    return ("BEGIN:VCARD\r\nVERSION:%s\r\nUID:%s\r\nFN:%s\r\nN:%s;%s;;;\r\nEMAIL:%s\r\nEND:VCARD\r\n"
            % (version, uid, fn, n[-1], n[0], email))


def test_carddav_put_query_multiget(dav):
    h = dav.http()
    cards = {"ada.vcf": vcard("c-ada", "Ada Lovelace", "ada@example.net"),
             "jose.vcf": vcard("c-jose", "Jos\u00e9 M\u00fcller", "jose@example.com", "4.0"),
             "grace.vcf": vcard("c-grace", "Grace Hopper", "grace@example.net")}
    etags = {}
    for name, card in cards.items():
        r = h.request("PUT", dav.contacts + name, card,
                      {"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"})
        assert r.status == 201, r
        etags[name] = r.header("ETag")
    r = h.request("PUT", dav.contacts + "ada.vcf", cards["ada.vcf"],
                  {"Content-Type": "text/vcard", "If-None-Match": "*"})
    assert r.status == 412, r

    query = """<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
 <D:prop><D:getetag/><C:address-data/></D:prop>
 <C:filter><C:prop-filter name="EMAIL">
  <C:text-match collation="i;unicode-casemap" match-type="ends-with">@EXAMPLE.NET</C:text-match>
 </C:prop-filter></C:filter>
</C:addressbook-query>"""
    r = h.request("REPORT", dav.contacts, query, {"Depth": "1", "Content-Type": "application/xml"})
    assert r.status == 207, r
    got = propstats(r.body)
    assert sorted(k.rsplit("/", 1)[1] for k in got) == ["ada.vcf", "grace.vcf"], r
    data = got[dav.contacts + "ada.vcf"][1]["{urn:ietf:params:xml:ns:carddav}address-data"][0].text
    assert "FN:Ada Lovelace" in data

    query = query.replace('name="EMAIL"', 'name="FN"').replace(
        'match-type="ends-with">@EXAMPLE.NET', 'match-type="contains">m\u00dcller')
    r = h.request("REPORT", dav.contacts, query.encode(), {"Depth": "1", "Content-Type": "application/xml"})
    assert r.status == 207, r
    assert [k.rsplit("/", 1)[1] for k in propstats(r.body)] == ["jose.vcf"], r

    hrefs = "".join(f"<D:href>{urllib.parse.quote(dav.contacts + n)}</D:href>"
                    for n in ("jose.vcf", "grace.vcf", "missing.vcf"))
    multiget = f"""<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
 <D:prop><D:getetag/><C:address-data/></D:prop>{hrefs}</C:addressbook-multiget>"""
    r = h.request("REPORT", dav.contacts, multiget, {"Depth": "1", "Content-Type": "application/xml"})
    assert r.status == 207, r
    got = propstats(r.body)
    jose = got[dav.contacts + "jose.vcf"][1]
    assert "Jos\u00e9 M\u00fcller" in jose["{urn:ietf:params:xml:ns:carddav}address-data"][0].text
    assert jose["{DAV:}getetag"][0].text == etags["jose.vcf"]
    assert "404" in (got[dav.contacts + "missing.vcf"][0] or ""), r
    r = h.request("GET", dav.contacts + "grace.vcf")
    assert r.status == 200 and "FN:Grace Hopper" in r.text, r
    if dav.kind == "ravelin":
        assert r.body == cards["grace.vcf"].encode(), r


def test_another_accounts_collection_is_not_found(dav):
    """The account is the login's, never the path's."""
    only_ravelin(dav)
    h = dav.http()
    for path in ("/dav/calendars/bob@example.org/calendar/", "/dav/principals/bob@example.org/",
                 "/dav/addressbooks/bob@example.org/contacts/"):
        r = h.request("PROPFIND", path, headers={"Depth": "0"})
        assert r.status == 404, r
    r = h.request("PUT", "/dav/calendars/bob@example.org/calendar/x.ics", SINGLE,
                  {"Content-Type": "text/calendar"})
    assert r.status == 404, r
