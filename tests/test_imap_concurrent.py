"""IMAP: several sessions of one account on one mailbox at once, as
imaptest's stress run drives them: what one session changes reaches the
others in the order the RFCs require.
"""
import pytest

from imap_util import append_many, close, connect, fetches, flags_of, small_message


@pytest.fixture
def pair(server):
    a, b = connect(server), connect(server)
    yield a, b
    close(a)
    close(b)


def first_index(untagged, pred):
    return next((i for i, u in enumerate(untagged) if pred(u)), None)


@pytest.mark.parametrize("uid", [False, True])
def test_new_keyword_announced_before_fetch_shows_it(pair, uid):
    """RFC 9051 7.3.5 / RFC 3501 7.2.6: a keyword in a FETCH must have been
    announced in FLAGS; a keyword another session made comes in `* FLAGS`
    before the first FETCH that shows it."""
    a, b = pair
    append_many(a, "INBOX", [small_message(i) for i in range(1, 4)])
    a.ok("SELECT INBOX")
    r = b.ok("SELECT INBOX")
    keyword = "NeverUsed%d" % uid
    assert keyword not in r.of("FLAGS")[0][1], r.exchange()
    a.ok("STORE 1 +FLAGS (%s)" % keyword)
    r = b.ok("UID FETCH 1:* (FLAGS)" if uid else "FETCH 1 (FLAGS)")
    shown = first_index(r.untagged, lambda u: b" FETCH " in u and keyword.encode() in u)
    announced = first_index(r.untagged, lambda u: u.startswith(b"* FLAGS ") and keyword.encode() in u)
    assert shown is not None, r.exchange()
    assert announced is not None and announced < shown, r.exchange()
    assert keyword in flags_of(fetches(r)[1]["FLAGS"]), r.exchange()
    # Announced once: the next FETCH does not repeat it.
    r = b.ok("FETCH 1 (FLAGS)")
    assert not r.lines("FLAGS"), r.exchange()


def test_new_keyword_reaches_idle_session_after_flags(pair):
    """The same order for the unsolicited FETCH an IDLE session gets."""
    a, b = pair
    append_many(a, "INBOX", [small_message(1)])
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    a.ok("STORE 1 +FLAGS (FreshKeyword)")
    r = b.ok("NOOP")
    shown = first_index(r.untagged, lambda u: b" FETCH " in u and b"FreshKeyword" in u)
    announced = first_index(r.untagged, lambda u: u.startswith(b"* FLAGS ") and b"FreshKeyword" in u)
    assert shown is not None and announced is not None and announced < shown, r.exchange()
