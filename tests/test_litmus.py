"""litmus (Debian's WebDAV test suite) against a calendar collection.

litmus is given alice's calendar home and makes its own collection there
(`litmus/`), a calendar collection, where it runs the basic, copymove,
props and http suites.  Every test passes except those that store a body
that is not iCalendar: those PUTs must be refused with 403 and the
valid-calendar-data precondition (RFC 4791 5.3.2.1), so they, and the
tests that work on what they would have stored, fail or are skipped.  The
locks suite is not run: LOCK is refused with 405 by design, which the last
test checks.  The Radicale and Xandikos figures come from `bench/dav
--litmus`.
"""
import re
import xml.etree.ElementTree as ET

import pytest

from dav_util import NS, bench_dav, dav  # noqa: F401 (fixture)

SUITES = "basic copymove props http"
# Seconds litmus may take for the four suites (about 5 normally).
LITMUS_TIMEOUT = 240

# litmus's own test names (suite, test) whose body is a text PUT into the
# calendar collection, or which work on such a resource.
NOT_ICALENDAR = {
    ("basic", "put_get"),               # PUT of `litmus/res' (text), GET compares it
    ("basic", "put_get_utf8_segment"),  # the same at `res-%e2%82%ac'
    ("basic", "mkcol_over_plain"),      # MKCOL over `res' (skipped without it)
    ("basic", "delete"),                # DELETE of `res' (skipped without it)
    ("copymove", "copy_init"),          # PUT of the text source file
    ("copymove", "copy_simple"),        # copies it (skipped without it)
    ("copymove", "copy_overwrite"),
    ("copymove", "copy_nodestcoll"),
    ("copymove", "copy_coll"),          # a collection with text files to copy
    ("copymove", "copy_shallow"),
    ("copymove", "move"),               # PUT of text files to move
    ("copymove", "move_coll"),
    ("props", "propinit"),              # PUT of `prop' (text) to hang properties on
    ("props", "propset"), ("props", "propget"), ("props", "propmove"),
    ("props", "propdeletes"), ("props", "propreplace"), ("props", "propnullns"),
    ("props", "prophighunicode"), ("props", "propremoveset"), ("props", "propsetremove"),
    ("props", "propvalnspace"), ("props", "propmanyns"),
    ("http", "expect100"),              # PUT of a text body after 100-continue (skipped over TLS)
}


# litmus's tests that make a plain collection inside the calendar
# collection.  RFC 4791 4.2 allows one there; Ravelin refuses it (403,
# docs/dav.md): no calendar client makes one, and the URL space stays
# home / collection / object.  A known gap against the RFC, named here.
NESTED_COLLECTION = {
    ("basic", "delete_fragment"), ("basic", "mkcol"), ("basic", "mkcol_again"),
    ("basic", "delete_coll"), ("basic", "mkcol_with_body"),
}


def test_litmus_calendar_collection(dav):
    if dav.kind != "ravelin":
        pytest.skip("peers: bench/dav --litmus")
    b = bench_dav()
    results, out = b.litmus_run(dav.url(dav.calendar_home), dav.user, dav.password, SUITES,
                                timeout=LITMUS_TIMEOUT)
    assert results, out
    assert {r[0] for r in results} == set(SUITES.split()), out
    allowed = NOT_ICALENDAR | NESTED_COLLECTION
    bad = [r for r in results if r[3] != "pass" and (r[0], r[2]) not in allowed]
    assert not bad, "\n".join(map(str, bad)) + "\n" + out
    # Where an allowed test failed on a status, it is the refusal (or the
    # resource it would have made being absent), never a server error.
    for suite, _, name, result, msg, _ in results:
        if result == "FAIL" and (suite, name) in allowed:
            assert not re.search(r"\b5\d\d\b|timeout|connection", msg), (suite, name, msg)

    # The refusal litmus met, seen directly: 403 valid-calendar-data.
    h = dav.http()
    r = h.request("PUT", dav.calendar + "res", "This is\na test file.\n", {"Content-Type": "text/plain"})
    assert r.status == 403, r
    assert ET.fromstring(r.body).find("c:valid-calendar-data", NS) is not None, r


def test_lock_refused(dav):
    if dav.kind != "ravelin":
        pytest.skip("Ravelin's design")
    h = dav.http()
    r = h.request("OPTIONS", dav.calendar)
    assert r.status == 200, r
    allow = {m.strip() for m in (r.header("Allow") or "").split(",")}
    assert "PROPFIND" in allow and "LOCK" not in allow and "UNLOCK" not in allow, r
    dav_classes = {c.strip() for c in (r.header("DAV") or "").split(",")}
    assert {"1", "3", "calendar-access"} <= dav_classes and "2" not in dav_classes, r
    body = ('<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope>'
            '<D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>')
    r = h.request("LOCK", dav.calendar + "x.ics", body, {"Content-Type": "application/xml", "Timeout": "Second-60"})
    assert r.status == 405, r
    r = h.request("UNLOCK", dav.calendar + "x.ics", headers={"Lock-Token": "<opaquelocktoken:x>"})
    assert r.status == 405, r
    # The connection still works after the refusals.
    r = h.request("PROPFIND", dav.calendar, headers={"Depth": "0"})
    assert r.status == 207, r
