"""ENVELOPE, BODY and BODYSTRUCTURE checked against an independent server.

Dovecot from Debian runs on loopback as an oracle: every message of the
MIME seed corpus (fuzz/corpus/mime, line ends made CRLF as on the wire) is
APPENDed to it, and its answers are compared with what Ravelin's parser
stored for the same bytes (build-*/src/imap-format/mime-dump prints it).

Normalisation, where both answers are legal IMAP:
- a string may come as a literal or a quoted string; both are compared as
  their content;
- an RFC 2231 parameter (`title*=utf-8''%E2%82%AC...`, continued or not):
  Dovecot passes it on still encoded, as ("title*" "utf-8''%E2%82%AC..."),
  Ravelin decodes it, as ("title" "<UTF-8 text>"), so that a client which
  does not know RFC 2231 still shows the right name.  Dovecot's form is
  decoded before comparing.
"""
import glob
import imaplib
import os
import re
import urllib.parse
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, free_port

CORPUS = os.path.join(os.path.dirname(__file__), "..", "fuzz", "corpus", "mime")
DUMP = os.path.join(os.path.dirname(BIN), "src", "imap-format", "mime-dump")
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

pytestmark = pytest.mark.skipif(not os.path.exists(DOVECOT), reason="dovecot not installed")


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture(scope="module")
def dovecot():
    tmp = tempfile.mkdtemp(prefix="ravelin-oracle-")
    os.chmod(tmp, 0o755)
    port = free_port()
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    shutil.chown(home, "nobody", "nogroup")
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = static
  args = password=oracle
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={home}
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")
    proc = subprocess.Popen([DOVECOT, "-F", "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    end = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > end or proc.poll() is not None:
                log = open(os.path.join(tmp, "dovecot.log")).read() if os.path.exists(
                    os.path.join(tmp, "dovecot.log")) else ""
                proc.kill()
                pytest.fail("dovecot did not start: " + log[-2000:])
            time.sleep(0.1)
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login("oracle", "oracle")
    yield imap
    imap.logout()
    proc.terminate()
    proc.wait(timeout=10)


def to_text(pieces):
    """Joins an imaplib FETCH answer, turning literals into quoted strings."""
    out = b""
    for piece in pieces:
        if isinstance(piece, tuple):
            head, literal = piece
            assert head.endswith(b"}")
            head = head[:head.rindex(b"{")]
            out += head + b'"' + literal.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        else:
            out += piece
    return out


def unliteral(text):
    """The same for a line holding {n}\\r\\n literals (mime-dump's output)."""
    out = b""
    i = 0
    while i < len(text):
        j = text.find(b"{", i)
        if j < 0:
            out += text[i:]
            break
        k = text.find(b"}\r\n", j)
        if k < 0 or not text[j + 1:k].isdigit():
            out += text[i:j + 1]
            i = j + 1
            continue
        n = int(text[j + 1:k])
        lit = text[k + 3:k + 3 + n]
        out += text[i:j] + b'"' + lit.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        i = k + 3 + n
    return out


RFC2231 = re.compile(rb'"([^"*]+)\*" "([^"\']*)\'[^"\']*\'([^"]*)"')


def decode_rfc2231(text):
    """Dovecot's encoded RFC 2231 parameters, decoded as Ravelin stores them."""
    def one(m):
        charset = m.group(2).decode() or "us-ascii"
        raw = urllib.parse.unquote_to_bytes(m.group(3).decode())
        value = raw.decode(charset, errors="replace").encode()
        value = value.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
        return b'"' + m.group(1) + b'" "' + value + b'"'
    return RFC2231.sub(one, text)


def item(text, name):
    """The parenthesised value after `name ` in an IMAP answer."""
    i = text.index(name + b" (") + len(name) + 1
    depth = 0
    in_quote = False
    j = i
    while j < len(text):
        c = text[j:j + 1]
        if in_quote:
            if c == b"\\":
                j += 1
            elif c == b'"':
                in_quote = False
        elif c == b'"':
            in_quote = True
        elif c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                return text[i:j + 1]
        j += 1
    raise AssertionError(f"unbalanced {name}")


def ravelin_answer(data, tmp_path):
    path = tmp_path / "msg.eml"
    path.write_bytes(data)
    out = subprocess.run([DUMP, str(path)], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    text = unliteral(out.stdout)
    return {k: item(text, k) for k in (b"ENVELOPE", b"BODY", b"BODYSTRUCTURE")}


def generated():
    """Messages shaped like the ones real clients send, made with Python's
    email package (a third implementation of the formats)."""
    from email.message import EmailMessage
    from email.headerregistry import Address
    from email.policy import SMTP
    out = {}

    m = EmailMessage()
    m["From"] = Address("Jörg Müller", "joerg", "example.de")
    m["To"] = "A <a@example.org>, b@example.org, Group: c@example.org, d@example.org;"
    m["Cc"] = "=?iso-8859-1?q?Fran=E7ois?= <f@example.fr>"
    m["Subject"] = "Grüße — résumé ✓"
    m["Date"] = "Tue, 1 Jul 2025 10:00:00 +0200"
    m["Message-ID"] = "<gen1@example.de>"
    m["In-Reply-To"] = "<parent@example.de>"
    m["Reply-To"] = "list@example.de"
    m.set_content("Plain text with ünïcode\n")
    m.add_alternative("<p>HTML <b>body</b></p>\n", subtype="html")
    out["alternative-utf8"] = m

    m = EmailMessage()
    m["From"] = "sender@example.org"
    m["To"] = "rcpt@example.org"
    m["Subject"] = "attachments"
    m.set_content("See attached.\n")
    m.add_attachment(b"%PDF-1.4 fake" * 50, maintype="application", subtype="pdf",
                     filename="report.pdf")
    m.add_attachment("ein Text\n", subtype="plain", filename="Übersicht 2025.txt")
    m.add_attachment(b"\x89PNG\r\n" + bytes(range(256)), maintype="image", subtype="png",
                     filename="a.png", disposition="inline", cid="<img1@example.org>")
    out["attachments"] = m

    inner = EmailMessage()
    inner["From"] = "orig@example.net"
    inner["To"] = "x@example.org"
    inner["Subject"] = "inner"
    inner.set_content("inner body\n")
    inner.add_attachment(b"data", maintype="application", subtype="octet-stream",
                         filename="d.bin")
    m = EmailMessage()
    m["From"] = "fwd@example.org"
    m["To"] = "y@example.org"
    m["Subject"] = "Fwd: inner"
    m.set_content("forwarding\n")
    m.add_attachment(inner)
    out["forward-rfc822"] = m

    m = EmailMessage()
    m["From"] = "a@example.org"
    m["To"] = "b@example.org"
    m["Subject"] = "quoted-printable"
    m.set_content("a long line " * 20 + "é\n", cte="quoted-printable")
    out["qp"] = m

    m = EmailMessage()
    m["From"] = "a@example.org"
    m["Subject"] = "=?utf-8?b?8J+YgCBlbW9qaQ==?= and =?utf-8?q?more?="
    m["Content-Language"] = "en, de"
    m.set_content("text\n")
    m["Content-Location"] = "http://example.org/x"
    out["language-location"] = m
    return {name: msg.as_bytes(policy=SMTP) for name, msg in out.items()}


MESSAGES = sorted(glob.glob(os.path.join(CORPUS, "*")))
GENERATED = generated()


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_messages_same_as_dovecot(dovecot, name, tmp_path):
    compare(dovecot, GENERATED[name], tmp_path)


@pytest.mark.parametrize("path", MESSAGES, ids=[os.path.basename(p) for p in MESSAGES])
def test_same_answers_as_dovecot(dovecot, path, tmp_path):
    data = crlf(open(path, "rb").read())
    if not data.strip():
        pytest.skip("Dovecot refuses an empty APPEND")
    compare(dovecot, data, tmp_path)


def compare(dovecot, data, tmp_path):
    typ, resp = dovecot.append("INBOX", None, None, data)
    assert typ == "OK", resp
    uid = resp[0].split(b"APPENDUID ")[1].split(b"]")[0].split()[1]
    dovecot.select("INBOX", readonly=True)
    typ, pieces = dovecot.uid("FETCH", uid, "(ENVELOPE BODY BODYSTRUCTURE)")
    assert typ == "OK"
    theirs_text = decode_rfc2231(to_text(pieces))
    ours = ravelin_answer(data, tmp_path)
    for key in (b"ENVELOPE", b"BODY", b"BODYSTRUCTURE"):
        theirs = item(theirs_text, key)
        assert ours[key] == theirs, f"{key.decode()} differs:\nours   {ours[key]}\ntheirs {theirs}"
