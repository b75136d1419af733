"""IMAP: INBOX is one mailbox and one hierarchy however a client spells it
(RFC 9051 5.1: the name INBOX is case-insensitive, also as the first level
of a hierarchical name).  imaplib over implicit TLS, as test_imap.py."""
import pytest

from imap_util import as_bytes, close, connect


@pytest.fixture
def c(server):
    client = connect(server)
    yield client
    close(client)


def listed(resp):
    """{name: set of lower-case attributes} of the LIST responses."""
    return {(as_bytes(x[3]).decode() if isinstance(x[3], bytes) else x[3]):
            {a.lower() for a in x[1]} for x in resp.of("LIST")}


def test_create_inbox_child_in_any_case(c):
    c.ok('CREATE "inbox/sub"')
    c.ok('CREATE "Inbox/Deep/er"')
    r = c.ok('LIST "" "*"')
    names = listed(r)
    inboxes = [n for n in names if n.lower() == "inbox"]
    assert inboxes == ["INBOX"], r.exchange()
    assert "INBOX/sub" in names and "INBOX/Deep/er" in names, r.exchange()
    assert not [n for n in names if n.lower().startswith("inbox/") and
                not n.startswith("INBOX/")], r.exchange()
    assert "\\haschildren" in names["INBOX"], r.exchange()
    r = c.ok('LIST "" "INBOX/%"')
    assert "INBOX/sub" in listed(r), r.exchange()
    # The same mailbox by every spelling of its first level.
    r = c.run('CREATE "INBOX/sub"')
    assert r.status == "NO" and r.code == "ALREADYEXISTS", r.exchange()
    c.ok('SELECT "iNbOx/sub"')
    c.ok('UNSELECT')
    c.ok('DELETE "INBOX/sub"')
    assert "INBOX/sub" not in listed(c.ok('LIST "" "*"'))
