"""Points of RFC 9051 and its extensions that imaptest's compliance groups
check: "[" in an unquoted mailbox name (atoms), the largest ID RFC 2971
allows (id), subscriptions of names that are no mailbox (subscribe,
listext)."""
import pytest

from imap_util import ALICE, PASSWORD, Client, close, connect, quote


@pytest.fixture
def c(server):
    client = connect(server)
    yield client
    close(client)


def listed(resp):
    """{name: set of attributes} of LIST/LSUB responses."""
    out = {}
    for kind in ("LIST", "LSUB"):
        for item in resp.of(kind):
            attrs, name = item[1], item[3]
            name = name.decode() if isinstance(name, bytes) else str(name)
            out[name] = {str(a).upper() for a in attrs}
    return out


def test_bracket_in_unquoted_mailbox_name(c):
    # RFC 9051: only "]" is a resp-special; "[" is an ATOM-CHAR.
    r = c.run("SELECT a[b")
    assert r.status == "NO", r.exchange()
    c.ok('CREATE "a[b"')
    c.ok("SELECT a[b")
    c.ok("LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*")
    r = c.ok('LIST "" a[*')
    assert "a[b" in listed(r), r.exchange()
    # FETCH sections keep their spaces inside brackets.
    c.ok("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (From To)])")


def id_command(value_len=1024):
    pairs = []
    for i in range(30):
        field = (chr(ord("a") + i % 26) + "%02d" % i).ljust(30, "x")
        pairs.append(f'"{field}" "{"v" * value_len}"')
    return "ID (" + " ".join(pairs) + ")"


def test_largest_id_before_and_after_login(server):
    c = Client(server.imaps_port)
    try:
        r = c.run(id_command())
        assert r.status == "OK" and r.lines("ID"), r.exchange()
        typ, _ = c.login(ALICE, PASSWORD)
        assert typ == "OK"
        r = c.run(id_command())
        assert r.status == "OK" and r.lines("ID"), r.exchange()
    finally:
        close(c)


def test_subscription_of_names_that_are_no_mailbox(c):
    c.ok('SUBSCRIBE "Gone/Later"')
    # LIST (SUBSCRIBED) shows it \NonExistent; plain LIST does not.
    r = c.ok('LIST (SUBSCRIBED) "" "Gone/*"')
    assert listed(r) == {"Gone/Later": {"\\SUBSCRIBED", "\\NONEXISTENT", "\\HASNOCHILDREN"}}, \
        r.exchange()
    assert "Gone/Later" not in listed(c.ok('LIST "" "*"'))
    assert "Gone/Later" in listed(c.ok('LSUB "" "Gone/*"'))
    # Created, it is a subscribed mailbox.
    c.ok('CREATE "Gone/Later"')
    r = c.ok('LIST "" "Gone/*" RETURN (SUBSCRIBED)')
    assert "\\SUBSCRIBED" in listed(r)["Gone/Later"] and \
        "\\NONEXISTENT" not in listed(r)["Gone/Later"], r.exchange()
    # Deleted, it stays subscribed (RFC 9051 6.3.9).
    c.ok('DELETE "Gone/Later"')
    r = c.ok('LIST (SUBSCRIBED) "" "Gone/*"')
    assert "\\NONEXISTENT" in listed(r)["Gone/Later"], r.exchange()
    # Unsubscribed, it is gone; unsubscribing again is fine.
    c.ok('UNSUBSCRIBE "Gone/Later"')
    assert listed(c.ok('LIST (SUBSCRIBED) "" "Gone/*"')) == {}
    c.ok('UNSUBSCRIBE "Gone/Later"')


def test_recursivematch_childinfo_only_for_unlisted_children(c):
    for name in ("P", "P/Sub", "Q", "Q/Sub"):
        c.ok(f"CREATE {quote(name)}")
    c.ok('SUBSCRIBE "P/Sub"')
    c.ok('SUBSCRIBE "Q/Sub"')
    # P/Sub is not matched by the pattern: P stands for it with CHILDINFO.
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "P"')
    assert r.has(b'"P" (CHILDINFO ("SUBSCRIBED"))'), r.exchange()
    # Q/Sub is listed itself: Q is not.
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" ("Q" "Q/Sub")')
    assert set(listed(r)) == {"Q/Sub"}, r.exchange()
