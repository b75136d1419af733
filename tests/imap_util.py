"""Helpers for the IMAP tests: an imaplib client that keeps a transcript and
runs any command exactly as written, a parser for IMAP response data, and a
deterministic corpus of varied messages appended fast with MULTIAPPEND.

Every assertion helper puts the exchange (what was sent, what came back) in
its failure message, so a failing test shows the server's answer.
"""
import imaplib
import random
import re
import smtplib
import socket
import ssl
import time

CTX = ssl._create_unverified_context()
PASSWORD = "secret-pass"  # conftest's default for alice and bob
ALICE = "alice@example.org"
BOB = "bob@example.org"

# How much of a transcript a failure message shows.
TRANSCRIPT_SHOWN = 6000


class ImapError(AssertionError):
    pass


class ImapTimeout(ImapError):
    pass


def lit(data, plus=True):
    """A literal in wire form: LITERAL+ ({n+}) unless plus is False."""
    if isinstance(data, str):
        data = data.encode()
    return b"{%d%s}\r\n" % (len(data), b"+" if plus else b"") + data


def quote(text):
    """An IMAP quoted string."""
    if isinstance(text, bytes):
        text = text.decode()
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Response:
    """One command's answer: the tagged status and text and, in order, every
    untagged response as raw bytes (literals inline, as on the wire)."""

    def __init__(self, command, status, text, untagged, transcript):
        self.command = command
        self.status = status
        self.text = text
        self.untagged = untagged
        self.transcript = transcript

    @property
    def ok(self):
        return self.status == "OK"

    @property
    def code(self):
        """The tagged answer's response code without brackets, or None."""
        m = re.match(rb"\[([^\]]*)\]", self.text)
        return m.group(1).decode(errors="replace") if m else None

    def codes(self):
        """Response codes of the untagged OK/NO/BAD lines and the tagged one."""
        out = []
        for u in self.untagged:
            m = re.match(rb"\* (?:OK|NO|BAD) \[([^\]]*)\]", u)
            if m:
                out.append(m.group(1).decode(errors="replace"))
        if self.code:
            out.append(self.code)
        return out

    def of(self, kind):
        """The untagged responses of one kind ('LIST', 'FETCH', 'EXISTS'...)
        parsed into lists, the leading '*' removed."""
        kind = kind.upper()
        out = []
        for u in self.untagged:
            head = u.split(b" ", 3)
            if len(head) > 1 and head[1].upper() == kind.encode():
                out.append(parse(u)[1:])
            elif len(head) > 2 and head[1].isdigit() and head[2].upper() == kind.encode():
                out.append(parse(u)[1:])
        return out

    def lines(self, kind):
        """The raw untagged lines of one kind."""
        kind = kind.upper().encode()
        return [u for u in self.untagged
                if u.split(b" ")[1:2] == [kind] or u.split(b" ")[2:3] == [kind]]

    def has(self, needle):
        if isinstance(needle, str):
            needle = needle.encode()
        return any(needle in u for u in self.untagged)

    def exchange(self):
        text = b"\n".join(self.transcript).decode(errors="replace")
        if len(text) > TRANSCRIPT_SHOWN:
            text = text[:TRANSCRIPT_SHOWN // 2] + "\n[...]\n" + text[-TRANSCRIPT_SHOWN // 2:]
        return text

    def expect(self, status="OK"):
        if self.status != status:
            raise ImapError(f"expected {status}, got {self.status}:\n{self.exchange()}")
        return self

    def __repr__(self):
        return f"<Response {self.status} {self.text!r} {len(self.untagged)} untagged>"


def shorten(data, limit=300):
    if len(data) > limit:
        return data[:limit] + b"...[%d octets]" % len(data)
    return data


class Client(imaplib.IMAP4_SSL):
    """imaplib.IMAP4_SSL that records every line it sends and receives, and
    can send any command as written (run) and wait for any answer."""

    def __init__(self, port, timeout=20):
        self.transcript = []
        self.timeout = timeout
        self._rbuf = bytearray()
        super().__init__("127.0.0.1", port, ssl_context=CTX, timeout=timeout)

    # imaplib's I/O, recorded, over a buffer of our own: a read that times
    # out (polling during IDLE) loses nothing, where imaplib's file object
    # would refuse every later read.
    def _fill(self):
        try:
            data = self.sock.recv(1 << 16)
        except (socket.timeout, TimeoutError):
            raise ImapTimeout(f"no answer within {self.sock.gettimeout()} s\n"
                              + self.exchange()) from None
        self._rbuf += data
        return len(data) > 0

    def readline(self):
        while True:
            i = self._rbuf.find(b"\n")
            if i >= 0:
                line = bytes(self._rbuf[:i + 1])
                del self._rbuf[:i + 1]
                return line
            if not self._fill():
                line = bytes(self._rbuf)
                self._rbuf.clear()
                return line

    def _read_exact(self, size):
        while len(self._rbuf) < size:
            if not self._fill():
                raise EOFError("connection closed inside a literal\n" + self.exchange())
        data = bytes(self._rbuf[:size])
        del self._rbuf[:size]
        return data

    def read(self, size):
        data = self._read_exact(size)
        self.transcript.append(b"S: [literal] " + shorten(data))
        return data

    def _get_line(self):
        line = super()._get_line()
        self.transcript.append(b"S: " + shorten(line))
        return line

    def send(self, data):
        self.transcript.append(b"C: " + shorten(data.rstrip(b"\r\n")))
        super().send(data)

    def exchange(self, last=40):
        return b"\n".join(self.transcript[-last:]).decode(errors="replace")

    # Reading whole responses, literals included.
    def read_response(self):
        """One response as raw bytes without its final CRLF; EOFError when
        the server closed the connection."""
        line = self.readline()
        if not line:
            raise EOFError("connection closed by the server\n" + self.exchange())
        parts = []
        while True:
            if not line.endswith(b"\r\n"):
                raise ImapError(f"unterminated line {shorten(line)!r}\n{self.exchange()}")
            line = line[:-2]
            parts.append(line)
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                break
            data = self._read_exact(int(m.group(1)))
            parts.append(b"\r\n" + data)
            line = self.readline()
            if not line:
                raise EOFError("connection closed inside a response\n" + self.exchange())
        raw = b"".join(parts)
        self.transcript.append(b"S: " + shorten(raw, 2000))
        return raw

    def run(self, command, wait=True):
        """Send one command (str or bytes, LITERAL+ literals inline) with a
        fresh tag; return its Response.  Untagged responses that arrive
        before the tagged one belong to it."""
        if isinstance(command, str):
            command = command.encode()
        tag = self._new_tag()
        del self.tagged_commands[tag]
        start = len(self.transcript)
        self.send(tag + b" " + command + b"\r\n")
        if not wait:
            return tag
        return self.wait_tagged(tag, start)

    def wait_tagged(self, tag, start=None):
        start = len(self.transcript) - 1 if start is None else start
        untagged = []
        while True:
            raw = self.read_response()
            if raw.startswith(tag + b" "):
                rest = raw[len(tag) + 1:]
                status, _, text = rest.partition(b" ")
                return Response(None, status.decode(errors="replace"), text, untagged,
                                self.transcript[start:])
            untagged.append(raw)

    def run_sync(self, before, data, after=b""):
        """A command with one synchronising literal: waits for '+'.  Returns
        the Response (NO/BAD if the server refused the literal)."""
        if isinstance(before, str):
            before = before.encode()
        tag = self._new_tag()
        del self.tagged_commands[tag]
        start = len(self.transcript)
        self.send(tag + b" " + before + b" {%d}\r\n" % len(data))
        untagged = []
        while True:
            raw = self.read_response()
            if raw.startswith(b"+"):
                break
            if raw.startswith(tag + b" "):
                status, _, text = raw[len(tag) + 1:].partition(b" ")
                return Response(None, status.decode(), text, untagged, self.transcript[start:])
            untagged.append(raw)
        self.send(data + after + b"\r\n")
        r = self.wait_tagged(tag, start)
        r.untagged = untagged + r.untagged
        return r

    def ok(self, command):
        """run, and fail the test with the exchange unless the answer is OK."""
        return self.run(command).expect("OK")

    def idle_start(self):
        tag = self._new_tag()
        del self.tagged_commands[tag]
        self.send(tag + b" IDLE\r\n")
        first = self.read_response()
        if not first.startswith(b"+"):
            raise ImapError(f"IDLE refused\n{self.exchange()}")
        self._idle_tag = tag
        return tag

    def idle_wait(self, timeout):
        """The next untagged response during IDLE, or None after timeout."""
        self.sock.settimeout(timeout)
        try:
            return self.read_response()
        except ImapTimeout:
            return None
        finally:
            self.sock.settimeout(self.timeout)

    def idle_done(self):
        self.send(b"DONE\r\n")
        return self.wait_tagged(self._idle_tag).expect("OK")

    def select_box(self, mailbox="INBOX", extra=""):
        return self.ok(f"SELECT {quote(mailbox)}{extra}")


def connect(server, user=ALICE, password=PASSWORD, timeout=20):
    c = Client(server.imaps_port, timeout=timeout)
    typ, _ = c.login(user, password)
    assert typ == "OK", c.exchange()
    return c


def close(c):
    try:
        c.logout()
    except (imaplib.IMAP4.error, OSError, EOFError, ImapError):
        try:
            c.shutdown()
        except OSError:
            pass


# ---------- parsing response data ----------

ATOM_END = b" ()\r\n"


def parse(raw):
    """Parse a response into nested lists: atoms and quoted strings as str
    (NIL as None), literals as bytes.  An atom holding [...] (a section,
    a response code) is one token, spaces and parentheses included."""
    pos = 0
    n = len(raw)
    stack = [[]]

    while pos < n:
        c = raw[pos:pos + 1]
        if c == b" ":
            pos += 1
        elif c == b"(":
            stack.append([])
            pos += 1
        elif c == b")":
            done = stack.pop()
            stack[-1].append(done)
            pos += 1
        elif c == b'"':
            pos += 1
            out = bytearray()
            while raw[pos:pos + 1] != b'"':
                if pos >= n:
                    raise ValueError(f"unterminated string in {raw[:200]!r}")
                if raw[pos:pos + 1] == b"\\":
                    pos += 1
                out += raw[pos:pos + 1]
                pos += 1
            pos += 1
            stack[-1].append(out.decode("utf-8", "surrogateescape"))
        elif c in (b"{", b"~") and re.match(rb"~?\{\d+\+?\}\r\n", raw[pos:]):
            m = re.match(rb"~?\{(\d+)\+?\}\r\n", raw[pos:])
            size = int(m.group(1))
            pos += m.end()
            stack[-1].append(bytes(raw[pos:pos + size]))
            pos += size
        else:
            start = pos
            depth = 0
            while pos < n:
                ch = raw[pos:pos + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    depth -= 1
                elif depth == 0 and ch in (b" ", b"(", b")"):
                    break
                pos += 1
            atom = raw[start:pos].decode("utf-8", "surrogateescape")
            stack[-1].append(None if atom == "NIL" else atom)
    if len(stack) != 1:
        raise ValueError(f"unbalanced parentheses in {raw[:200]!r}")
    return stack[0]


def as_bytes(v):
    if v is None:
        return None
    return v if isinstance(v, bytes) else v.encode("utf-8", "surrogateescape")


def pairs(items):
    """A FETCH or STATUS list (name value name value) as a dict with upper-case names."""
    return {str(items[i]).upper(): items[i + 1] for i in range(0, len(items) - 1, 2)}


def fetches(resp):
    """{seq: {ITEM: value}} from a Response's FETCH responses; several FETCH
    responses for one message are merged."""
    out = {}
    for f in resp.of("FETCH"):
        seq = int(f[0])
        out.setdefault(seq, {}).update(pairs(f[2]))
    return out


def fetches_by_uid(resp):
    return {int(v["UID"]): v for v in fetches(resp).values() if "UID" in v}


def search_result(resp):
    """The numbers of the SEARCH (or SORT) responses, in order."""
    nums = []
    for s in resp.of("SEARCH") + resp.of("SORT"):
        for x in s[1:]:
            if isinstance(x, list):   # (MODSEQ n)
                continue
            nums.append(int(x))
    return nums


def seqset(text):
    """Expand '1:3,7' into [1, 2, 3, 7] (no '*')."""
    out = []
    if text is None:
        return out
    for part in str(text).split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.extend(range(min(a, b), max(a, b) + 1))
        elif part:
            out.append(int(part))
    return out


def esearch(resp):
    """The ESEARCH response's data as {'MIN': ..., 'ALL': [...], 'UID': True}."""
    rs = resp.of("ESEARCH")
    assert len(rs) == 1, resp.exchange()
    items = rs[0][1:]
    out = {}
    if items and isinstance(items[0], list):   # (TAG "A1")
        items = items[1:]
    i = 0
    while i < len(items):
        name = str(items[i]).upper()
        if name == "UID":
            out["UID"] = True
            i += 1
            continue
        value = items[i + 1]
        out[name] = seqset(value) if name == "ALL" else int(value)
        i += 2
    return out


def flags_of(item):
    return {str(f) for f in item}


# ---------- delivery ----------

def deliver(server, subject, body="hello\r\n", to=ALICE, headers=""):
    """One message over SMTP to the server's MX port."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=20) as c:
        c.sendmail("s@remote.test", [to],
                   f"From: s@remote.test\r\nTo: {to}\r\nSubject: {subject}\r\n{headers}\r\n{body}")


def append_many(c, mailbox, messages, batch=250, flags=None, dates=None):
    """APPEND all messages to mailbox with MULTIAPPEND and LITERAL+, batch
    messages per command.  flags and dates are optional per-message lists
    of '(\\Seen)' and '"dd-Mon-yyyy hh:mm:ss +zzzz"' strings.  Returns the
    UIDs from APPENDUID, in order."""
    uids = []
    for start in range(0, len(messages), batch):
        parts = [b"APPEND " + quote(mailbox).encode()]
        for i in range(start, min(start + batch, len(messages))):
            if flags is not None and flags[i]:
                parts.append(flags[i].encode())
            if dates is not None and dates[i]:
                parts.append(dates[i].encode())
            parts.append(lit(messages[i]))
        r = c.run(b" ".join(parts)).expect("OK")
        m = re.match(r"APPENDUID (\d+) (\S+)", r.code or "")
        assert m, r.exchange()
        uids.extend(seqset(m.group(2)))
    return uids


# ---------- the corpus ----------

WORDS = ("mail server queue message header body folder archive report meeting "
         "budget invoice schedule release test ravelin imap sync client draft "
         "notice update question answer project review plan status team").split()
NAMES = [("Alice Liddell", "alice@example.org"), ("Bob Builder", "bob@example.net"),
         ("Carol Danvers", "carol@example.com"), ("Dave Grohl", "dave@example.co.uk"),
         ("Eve Online", "eve@example.org"), ("Frank Zappa", "frank@music.example"),
         ("Zoë Ämmälä", "zoe@example.fi"), ("Jürgen Groß", "juergen@example.de")]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def imap_date(t):
    """An IMAP date-time for Unix time t (UTC)."""
    tm = time.gmtime(t)
    return f'"{tm.tm_mday:02d}-{MONTHS[tm.tm_mon - 1]}-{tm.tm_year} ' \
           f'{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000"'


def rfc2822_date(t):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))


def encoded_word(text):
    import base64
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def address(name, addr):
    if all(ord(ch) < 128 for ch in name):
        return f'"{name}" <{addr}>'
    return f"{encoded_word(name)} <{addr}>"


def _text(rng, lines):
    return "".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) + "\r\n"
                   for _ in range(lines))


def corpus(n, seed=1, base_time=1672531200):
    """n messages (bytes) and their internal dates, deterministic for a seed.
    Shapes cycle through plain text, quoted-printable UTF-8, alternative,
    mixed with a base64 attachment (RFC 2231 file name), a forwarded
    message/rfc822, RFC 2047 subjects, and replies that thread (In-Reply-To,
    References).  Each has a Message-ID <corpus-SEED-I@ravelin.test> and
    an X-Corpus-Index header.  Returns (messages, dates)."""
    import base64
    rng = random.Random(seed)
    msgs, dates = [], []
    ids = []
    for i in range(n):
        t = base_time + i * 3600 + rng.randint(0, 1800)
        sender = rng.choice(NAMES)
        rcpt = rng.choice(NAMES)
        mid = f"<corpus-{seed}-{i}@ravelin.test>"
        shape = i % 7
        subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
        headers = [f"From: {address(*sender)}", f"To: {address(*rcpt)}",
                   f"Date: {rfc2822_date(t)}", f"Message-ID: {mid}",
                   f"X-Corpus-Index: {i}"]
        if ids and rng.random() < 0.3:
            parent = rng.choice(ids[-20:])
            headers.append(f"In-Reply-To: {parent}")
            headers.append(f"References: {parent}")
            subject = "Re: " + subject
        if shape == 5:
            subject = encoded_word("Grüße " + subject)
        headers.append(f"Subject: {subject}")
        if rng.random() < 0.2:
            headers.append(f"Cc: {address(*rng.choice(NAMES))}")
        headers.append("MIME-Version: 1.0")
        lines = rng.choice((2, 5, 10, 30, 80, 300)) if rng.random() < 0.97 else 600
        if shape in (0, 5):
            headers.append("Content-Type: text/plain; charset=us-ascii")
            body = _text(rng, lines)
        elif shape == 1:
            headers.append("Content-Type: text/plain; charset=utf-8")
            headers.append("Content-Transfer-Encoding: quoted-printable")
            body = "Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n" + _text(rng, lines)
        elif shape == 2:
            b = f"alt-{seed}-{i}"
            headers.append(f'Content-Type: multipart/alternative; boundary="{b}"')
            text = _text(rng, lines)
            body = (f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{text}"
                    f"--{b}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n"
                    f"<html><body><p>{text}</p></body></html>\r\n--{b}--\r\n")
        elif shape == 3:
            b = f"mix-{seed}-{i}"
            headers.append(f'Content-Type: multipart/mixed; boundary="{b}"')
            blob = bytes(rng.getrandbits(8) for _ in range(rng.choice((200, 2000, 9000))))
            enc = base64.encodebytes(blob).decode().replace("\n", "\r\n")
            body = (f"--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                    f"{_text(rng, lines)}--{b}\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9-{i}.bin\r\n"
                    f"Content-Transfer-Encoding: base64\r\n\r\n{enc}--{b}--\r\n")
        elif shape == 4:
            b = f"fwd-{seed}-{i}"
            headers.append(f'Content-Type: multipart/mixed; boundary="{b}"')
            inner = (f"From: {address(*rng.choice(NAMES))}\r\nSubject: inner {i}\r\n"
                     f"Date: {rfc2822_date(t - 86400)}\r\n\r\n{_text(rng, 3)}")
            body = (f"--{b}\r\nContent-Type: text/plain\r\n\r\nForwarded.\r\n"
                    f"--{b}\r\nContent-Type: message/rfc822\r\n\r\n{inner}--{b}--\r\n")
        else:
            headers.append("Content-Type: text/plain; charset=utf-8")
            headers.append("Content-Transfer-Encoding: 8bit")
            body = "Ünïcödé bödy, 日本語のテキスト\r\n" + _text(rng, lines)
        msgs.append(("\r\n".join(headers) + "\r\n\r\n" + body).encode())
        dates.append(imap_date(t))
        ids.append(mid)
    return msgs, dates


def small_message(i, subject=None, extra=""):
    """A tiny message for bulk tests (a few hundred octets)."""
    subject = subject or f"bulk {i}"
    return (f"From: bulk@example.net\r\nTo: alice@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <bulk-{i}@ravelin.test>\r\n{extra}\r\nmessage number {i}\r\n").encode()


def wait_for(predicate, timeout=10, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()


def login_when_room(c, timeout, user=ALICE, password=PASSWORD):
    """LOGIN on c again while the account's session limit refuses it
    ([LIMIT]), until it is let in or timeout seconds pass; the last
    answer (a refusal other than [LIMIT] fails at once)."""
    deadline = time.monotonic() + timeout
    while True:
        r = c.run(f'LOGIN "{user}" "{password}"')
        if r.status == "OK" or time.monotonic() > deadline:
            return r
        assert r.code == "LIMIT", r.exchange()
        time.sleep(0.2)


def write_mbsyncrc(path, port, cert, local, user=ALICE, password=PASSWORD,
                   ssl_versions=None, pipeline=None, disable=None):
    """An mbsync configuration: INBOX over implicit TLS on port (the server's
    certificate pinned), synced both ways with the Maildir local; disable
    names IMAP extensions mbsync must not use (say "COMPRESS=DEFLATE")."""
    versions = f"SSLVersions {ssl_versions}\n" if ssl_versions else ""
    depth = f"PipelineDepth {pipeline}\n" if pipeline else ""
    depth += f"DisableExtensions {disable}\n" if disable else ""
    with open(path, "w") as f:
        f.write(f"""IMAPAccount ravelin
Host 127.0.0.1
Port {port}
User {user}
Pass {password}
AuthMechs LOGIN
SSLType IMAPS
{versions}SystemCertificates no
CertificateFile {cert}
{depth}
IMAPStore remote
Account ravelin

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
Sync All
""")


def kill9_midway(server, done, errors, stop, threads, low, high, poll=0.01):
    """Kill -9 the server at a random moment while threads change its store:
    once done() has reached a random count in [low, high] (or 90 s have
    passed), stop them and wait for them; the count reached is asserted."""
    target = random.randint(low, high)
    deadline = time.monotonic() + 90
    while done() < target and time.monotonic() < deadline and not errors:
        time.sleep(poll)
    assert not errors, errors
    stop.set()
    server.kill9()
    for t in threads:
        t.join()
    assert done() >= target, "the sessions did too little before the kill"
