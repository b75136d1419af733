"""Calendar scheduling by mail (iMIP, RFC 6047) at local delivery: an
invitation that arrives as mail is filed in INBOX and, when its sender is
the organiser, lands in the attendee's default calendar (PARTSTAT
NEEDS-ACTION) and schedule inbox; a reply from the attendee it names
updates the organiser's copy; anything else is only filed.

The calendars are read from the account's dav.db (what a CalDAV client is
served from).
"""
import imaplib
import os
import smtplib
import sqlite3
import ssl
import time
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

from conftest import check_no_sanitizer_reports, make_server

CTX = ssl._create_unverified_context()
PASSWORD = "secret-pass"


def event(method, uid, organizer, attendees, sequence=0, summary="Budget review",
          status=None):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Scheduling//EN"]
    if method:
        lines.append(f"METHOD:{method}")
    lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261206T100000Z",
              "DTSTART:20261210T140000Z", "DTEND:20261210T150000Z",
              f"SUMMARY:{summary}", f"SEQUENCE:{sequence}",
              f"ORGANIZER;CN=Organiser:mailto:{organizer}"]
    for address, partstat in attendees:
        lines.append(f"ATTENDEE;PARTSTAT={partstat};RSVP=TRUE:mailto:{address}")
    if status:
        lines.append(f"STATUS:{status}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def imip(method, sender, to, ical, from_header=None):
    """An iMIP mail as Thunderbird writes one: text and calendar parts."""
    m = MIMEMultipart("alternative")
    m["From"] = from_header or sender
    m["To"] = to
    m["Subject"] = f"Invitation ({method})"
    m["Date"] = formatdate()
    m["Message-ID"] = make_msgid(domain="test")
    m.attach(MIMEText("You are invited.\n", "plain"))
    cal = MIMEText(ical, "calendar", "utf-8")
    cal.set_param("method", method)
    m.attach(cal)
    return m.as_bytes()


def deliver(server, sender, rcpt, data):
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as c:
        c.sendmail(sender, [rcpt], data)


def objects(server, address, collection):
    """{uid: data} of one calendar-home collection in the account's dav.db."""
    path = os.path.join(server.account_dir(address), "dav.db")
    if not os.path.exists(path):
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT o.uid, o.data FROM objects o JOIN collections c ON o.collection = c.id "
            "WHERE c.name = ? AND c.home = (SELECT home FROM collections "
            "WHERE name = 'calendar')", (collection,)).fetchall()
    except sqlite3.OperationalError:
        return {}   # the worker is making the file's tables right now
    finally:
        db.close()
    return {uid: bytes(data).decode() for uid, data in rows}


def wait_for(fn, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    return fn()


def attendee_line(data, address):
    unfolded = data.replace("\r\n ", "")
    for line in unfolded.splitlines():
        if line.startswith("ATTENDEE") and line.lower().endswith("mailto:" + address):
            return line
    return None


def imap_subjects(server, address):
    c = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=20)
    try:
        c.starttls(ssl_context=CTX)
        c.login(address, PASSWORD)
        c.select("INBOX")
        typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        return [d[1].decode() for d in data if isinstance(d, tuple)]
    finally:
        c.logout()


def test_invitation_by_mail_reaches_calendar():
    s = make_server().start()
    try:
        uid = "inv-1@remote.test"
        req = event("REQUEST", uid, "dave@remote.test",
                    [("dave@remote.test", "ACCEPTED"), ("bob@example.org", "NEEDS-ACTION")])
        deliver(s, "dave@remote.test", "bob@example.org",
                imip("REQUEST", "dave@remote.test", "bob@example.org", req))
        s.wait_inbox("bob@example.org", 1)
        # The mail is in INBOX, as any mail.
        assert any("Invitation (REQUEST)" in x for x in imap_subjects(s, "bob@example.org"))
        # And the event in bob's calendar, no METHOD, his answer to give.
        cal = wait_for(lambda: objects(s, "bob@example.org", "calendar").get(uid))
        assert cal is not None, s.log()[-3000:]
        assert "METHOD" not in cal
        assert "PARTSTAT=NEEDS-ACTION" in attendee_line(cal, "bob@example.org")
        # The message as it came, in the schedule inbox.
        inbox = objects(s, "bob@example.org", "inbox")
        assert "METHOD:REQUEST" in inbox[uid]

        # An update (SEQUENCE 1, new title) replaces it; a CANCEL cancels it.
        upd = event("REQUEST", uid, "dave@remote.test",
                    [("dave@remote.test", "ACCEPTED"), ("bob@example.org", "NEEDS-ACTION")],
                    sequence=1, summary="Budget review (moved)")
        deliver(s, "dave@remote.test", "bob@example.org",
                imip("REQUEST", "dave@remote.test", "bob@example.org", upd))
        assert wait_for(lambda: "moved" in objects(s, "bob@example.org", "calendar")[uid])
        cancel = event("CANCEL", uid, "dave@remote.test", [("bob@example.org", "NEEDS-ACTION")],
                       sequence=2, status="CANCELLED")
        deliver(s, "dave@remote.test", "bob@example.org",
                imip("CANCEL", "dave@remote.test", "bob@example.org", cancel))
        assert wait_for(lambda: "STATUS:CANCELLED" in
                        objects(s, "bob@example.org", "calendar")[uid])
        assert len(objects(s, "bob@example.org", "calendar")) == 1
        s.wait_inbox("bob@example.org", 3)
    finally:
        s.stop()
    check_no_sanitizer_reports(s)


def test_outlook_shaped_invitation():
    """Outlook's shape: multipart/mixed holding a multipart/alternative
    (text, HTML, the calendar part in quoted-printable) and the same
    calendar again as an attachment without a method."""
    from email import charset
    from email.mime.base import MIMEBase
    s = make_server().start()
    try:
        uid = "040000008200E00074C5B7101A82E008@remote.test"
        req = event("REQUEST", uid, "dave@remote.test",
                    [("bob@example.org", "NEEDS-ACTION")], summary="Quarterly call")
        outer = MIMEMultipart("mixed")
        outer["From"] = "Dave <dave@remote.test>"
        outer["To"] = "bob@example.org"
        outer["Subject"] = "Quarterly call"
        alt = MIMEMultipart("alternative")
        alt.attach(MIMEText("When: ...\n", "plain"))
        alt.attach(MIMEText("<p>When: ...</p>", "html"))
        qp = charset.Charset("utf-8")
        qp.body_encoding = charset.QP
        cal = MIMEText(req, "calendar", qp)
        cal.set_param("method", "REQUEST")
        alt.attach(cal)
        outer.attach(alt)
        att = MIMEBase("application", "ics", name="invite.ics")
        att.set_payload("garbage that is never read\r\n")
        outer.attach(att)
        assert "quoted-printable" in outer.as_string()
        deliver(s, "dave@remote.test", "bob@example.org", outer.as_bytes())
        s.wait_inbox("bob@example.org", 1)
        got = wait_for(lambda: objects(s, "bob@example.org", "calendar").get(uid))
        assert got and "Quarterly call" in got, s.log()[-3000:]
    finally:
        s.stop()
    check_no_sanitizer_reports(s)


def test_untrusted_invitations_are_only_filed():
    s = make_server().start()
    try:
        # From: says the organiser, the envelope someone else.
        req = event("REQUEST", "forged-1@remote.test", "dave@remote.test",
                    [("bob@example.org", "NEEDS-ACTION")])
        deliver(s, "mallory@evil.test", "bob@example.org",
                imip("REQUEST", "mallory@evil.test", "bob@example.org", req,
                     from_header="dave@remote.test"))
        # Sender and From: agree, but not with the ORGANIZER.
        req2 = event("REQUEST", "forged-2@remote.test", "dave@remote.test",
                     [("bob@example.org", "NEEDS-ACTION")])
        deliver(s, "mallory@evil.test", "bob@example.org",
                imip("REQUEST", "mallory@evil.test", "bob@example.org", req2))
        # Not iCalendar at all, under the calendar type.
        deliver(s, "dave@remote.test", "bob@example.org",
                imip("REQUEST", "dave@remote.test", "bob@example.org", "garbage\r\n"))
        s.wait_inbox("bob@example.org", 3)
        time.sleep(1)
        assert objects(s, "bob@example.org", "calendar") == {}
        log = s.log()
        assert "only filed" in log and "not applied" in log
    finally:
        s.stop()
    check_no_sanitizer_reports(s)


def test_reply_by_mail_updates_organiser_copy():
    s = make_server().start()
    try:
        uid = "meet-1@example.org"
        # alice's own copy as organiser (put there as a REQUEST she sent herself).
        mine = event("REQUEST", uid, "alice@example.org",
                     [("alice@example.org", "ACCEPTED"), ("carol@remote.test", "NEEDS-ACTION"),
                      ("bob@example.org", "NEEDS-ACTION")])
        deliver(s, "alice@example.org", "alice@example.org",
                imip("REQUEST", "alice@example.org", "alice@example.org", mine))
        assert wait_for(lambda: objects(s, "alice@example.org", "calendar").get(uid))
        # A REPLY from someone else naming carol: refused.
        forged = event("REPLY", uid, "alice@example.org", [("carol@remote.test", "DECLINED")])
        deliver(s, "mallory@evil.test", "alice@example.org",
                imip("REPLY", "mallory@evil.test", "alice@example.org", forged))
        # carol's REPLY (Outlook shape: one attendee).
        reply = event("REPLY", uid, "alice@example.org", [("carol@remote.test", "ACCEPTED")])
        deliver(s, "carol@remote.test", "alice@example.org",
                imip("REPLY", "carol@remote.test", "alice@example.org", reply))
        s.wait_inbox("alice@example.org", 3)
        cal = wait_for(lambda: "ACCEPTED" in (attendee_line(
            objects(s, "alice@example.org", "calendar")[uid], "carol@remote.test") or "")
            and objects(s, "alice@example.org", "calendar")[uid])
        assert cal, s.log()[-3000:]
        assert "PARTSTAT=NEEDS-ACTION" in attendee_line(cal, "bob@example.org")
        assert "DECLINED" not in cal
    finally:
        s.stop()
    check_no_sanitizer_reports(s)


def test_calendar_part_size_limit():
    """A calendar part larger than WORKER_SCHEDULE_MAX_PART (about 1.4 MB
    as it stands in the mail) is not read; a large one within it is."""
    s = make_server().start()
    try:
        def big(uid, size):
            return event("REQUEST", uid, "dave@remote.test",
                         [("bob@example.org", "NEEDS-ACTION")]).replace(
                "SEQUENCE:0", "SEQUENCE:0\r\nX-PAD:" + "x" * size)
        deliver(s, "dave@remote.test", "bob@example.org",
                imip("REQUEST", "dave@remote.test", "bob@example.org", big("huge@remote.test",
                                                                           1_100_000)))
        deliver(s, "dave@remote.test", "bob@example.org",
                imip("REQUEST", "dave@remote.test", "bob@example.org", big("large@remote.test",
                                                                           600_000)))
        s.wait_inbox("bob@example.org", 2)
        assert wait_for(lambda: "large@remote.test" in objects(s, "bob@example.org", "calendar"))
        assert "huge@remote.test" not in objects(s, "bob@example.org", "calendar")
        assert s.wait_log("is not read"), s.log()[-3000:]
    finally:
        s.stop()
    check_no_sanitizer_reports(s)


def test_invitation_and_reply_between_servers():
    """alice@a.test invites bob@b.test by mail through her submission port
    (DKIM-signed, relayed to b.test's port 25, DMARC p=reject): the event
    reaches bob's calendar; bob's REPLY by mail updates alice's copy."""
    import pytest
    import mta_pair
    if not mta_pair.port25_usable():
        pytest.skip("needs root and port 25 on 127.0.0.2/3")
    p = mta_pair.Pair().start()
    try:
        uid = "pair-1@a.test"
        attendees = [("alice@a.test", "ACCEPTED"), ("bob@b.test", "NEEDS-ACTION")]
        req = event("REQUEST", uid, "alice@a.test", attendees)
        # alice's own copy as organiser, then the invitation to bob.
        p.a.submit("alice@a.test", ["alice@a.test"],
                   imip("REQUEST", "alice@a.test", "alice@a.test", req))
        p.a.submit("alice@a.test", ["bob@b.test"],
                   imip("REQUEST", "alice@a.test", "bob@b.test", req))
        cal = wait_for(lambda: objects(p.b, "bob@b.test", "calendar").get(uid), timeout=40)
        assert cal, p.b.log()[-3000:]
        assert "PARTSTAT=NEEDS-ACTION" in attendee_line(cal, "bob@b.test")
        assert wait_for(lambda: objects(p.a, "alice@a.test", "calendar").get(uid))
        reply = event("REPLY", uid, "alice@a.test", [("bob@b.test", "ACCEPTED")])
        p.b.submit("bob@b.test", ["alice@a.test"],
                   imip("REPLY", "bob@b.test", "alice@a.test", reply))
        ok = wait_for(lambda: "ACCEPTED" in (attendee_line(
            objects(p.a, "alice@a.test", "calendar")[uid], "bob@b.test") or ""), timeout=40)
        assert ok, p.a.log()[-3000:]
    finally:
        p.stop()
    check_no_sanitizer_reports(p.a)
    check_no_sanitizer_reports(p.b)


def dav_request(site, method, path, user, body=None, headers=None):
    """One request to a site's HTTPS port with Basic credentials."""
    import base64
    import http.client
    c = http.client.HTTPSConnection("127.0.0.1", site.https_port, context=CTX, timeout=20)
    h = dict(headers or {})
    if user is not None:
        h["Authorization"] = "Basic " + base64.b64encode(
            f"{user}:{PASSWORD}".encode()).decode()
    try:
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def http_path_built(site):
    try:
        status, _, _ = dav_request(site, "GET", "/dav/", None)
    except OSError:
        return False
    return status == 401


def test_scheduling_end_to_end_over_caldav():
    """The issue's scenario: alice@a.test saves an event over CalDAV
    inviting bob@a.test (local) and carol@b.test (another server); bob's
    calendar shows it; carol gets a method=REQUEST mail; bob accepts in his
    calendar and alice's copy shows ACCEPTED; carol's REPLY by mail
    updates alice's copy too."""
    import email
    import pytest
    import mta_pair
    if not mta_pair.port25_usable():
        pytest.skip("needs root and port 25 on 127.0.0.2/3")
    p = mta_pair.Pair()
    p.a.add_account("bob@a.test", PASSWORD)
    p.b.add_account("carol@b.test", PASSWORD)
    p.start()
    try:
        if not http_path_built(p.a):
            pytest.skip("the HTTPS/CalDAV path is not built in this tree")
        uid = "caldav-1@a.test"
        ics = event(None, uid, "alice@a.test",
                    [("alice@a.test", "ACCEPTED"), ("bob@a.test", "NEEDS-ACTION"),
                     ("carol@b.test", "NEEDS-ACTION")])
        status, _, body = dav_request(p.a, "PUT", "/dav/calendars/alice@a.test/calendar/meet.ics",
                                      "alice@a.test", ics.encode(),
                                      {"Content-Type": "text/calendar; charset=utf-8",
                                       "If-None-Match": "*"})
        assert status == 201, body
        # bob (local): the mail in INBOX and the event in his calendar.
        p.a.wait_inbox("bob@a.test", 1, timeout=40)
        bobs = wait_for(lambda: objects(p.a, "bob@a.test", "calendar").get(uid), timeout=40)
        assert bobs, p.a.log()[-3000:]
        assert "PARTSTAT=NEEDS-ACTION" in attendee_line(bobs, "bob@a.test")
        # carol (remote): a method=REQUEST mail Python's email reads, whose
        # calendar her server's libical took into her calendar.
        p.b.wait_inbox("carol@b.test", 1, timeout=60)
        msg = email.message_from_bytes(p.b.inbox_messages("carol@b.test")[0])
        parts = [x for x in msg.walk() if x.get_content_type() == "text/calendar"]
        assert parts and parts[0].get_param("method") == "REQUEST"
        assert f"UID:{uid}" in parts[0].get_payload(decode=True).decode()
        assert msg["Subject"].startswith("Invitation: ")
        assert wait_for(lambda: objects(p.b, "carol@b.test", "calendar").get(uid), timeout=40)
        # bob accepts in his client (a PUT of his copy).
        path = os.path.join(p.a.account_dir("bob@a.test"), "dav.db")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        (name,) = db.execute("SELECT name FROM objects WHERE uid = ?", (uid,)).fetchone()
        db.close()
        accepted = bobs.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED", 1)
        assert "PARTSTAT=ACCEPTED" in attendee_line(accepted, "bob@a.test")
        status, _, body = dav_request(p.a, "PUT", f"/dav/calendars/bob@a.test/calendar/{name}",
                                      "bob@a.test", accepted.encode(),
                                      {"Content-Type": "text/calendar; charset=utf-8"})
        assert status in (201, 204), body
        ok = wait_for(lambda: "ACCEPTED" in (attendee_line(
            objects(p.a, "alice@a.test", "calendar").get(uid, ""), "bob@a.test") or ""),
            timeout=40)
        assert ok, p.a.log()[-3000:]
        # carol answers by mail from her own server.
        reply = event("REPLY", uid, "alice@a.test", [("carol@b.test", "ACCEPTED")])
        p.b.submit("carol@b.test", ["alice@a.test"],
                   imip("REPLY", "carol@b.test", "alice@a.test", reply))
        ok = wait_for(lambda: "ACCEPTED" in (attendee_line(
            objects(p.a, "alice@a.test", "calendar").get(uid, ""), "carol@b.test") or ""),
            timeout=40)
        assert ok, p.a.log()[-3000:]
        # alice's copy over CalDAV says so too.
        status, _, body = dav_request(p.a, "GET", "/dav/calendars/alice@a.test/calendar/meet.ics",
                                      "alice@a.test")
        assert status == 200
        assert "PARTSTAT=ACCEPTED" in attendee_line(body.decode(), "carol@b.test")
    finally:
        p.stop()
    check_no_sanitizer_reports(p.a)
    check_no_sanitizer_reports(p.b)
