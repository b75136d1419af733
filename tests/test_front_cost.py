"""What a pre-auth process costs per connection was cut (it reads into its
input buffer directly, sends IPC messages gathered, installs the filter
its spawner prepared from a small frame): mail sent one connection per
message still arrives byte for byte, in every size the paths split it
into, and each pre-auth process is still jailed."""
import socket
import time

from test_front_slim import live_views


def wait_reply(sock, want, timeout=20):
    """Reads until the last line of a reply starting with want (a code)."""
    sock.settimeout(timeout)
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        chunk = sock.recv(65536)
        assert chunk, "connection closed; got %r" % data
        data += chunk
        lines = data.split(b"\r\n")
        if any(l.startswith(want + b" ") for l in lines):
            return data
    raise AssertionError("no %r reply; got %r" % (want, data))


def body_of(size, seed):
    """Lines of printable bytes, size bytes in all, different per seed."""
    line = ("%04d-" % seed + "abcdefghijklmnopqrstuvwxyz0123456789" * 2)[:76] + "\r\n"
    n = size // len(line) + 1
    return (line * n)[:size].rsplit("\r\n", 1)[0] + "\r\n"


def send_pipelined(server, subject, body):
    """One connection, the whole transaction in one write (PIPELINING):
    the input arrives in reads of up to 16 KB, many commands at once."""
    msg = "Subject: %s\r\nFrom: s@remote.test\r\n\r\n%s" % (subject, body)
    wire = ("EHLO client.test\r\nMAIL FROM:<s@remote.test>\r\nRCPT TO:<alice@example.org>\r\n"
            "DATA\r\n").encode()
    stuffed = msg.replace("\r\n.", "\r\n..").encode()
    with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=20) as s:
        wait_reply(s, b"220")
        s.sendall(wire)
        wait_reply(s, b"354")
        s.sendall(stuffed + b".\r\nQUIT\r\n")
        got = wait_reply(s, b"221")
        assert b"\r\n250 " in b"\r\n" + got or got.startswith(b"250"), got
    return msg.encode()


def test_one_connection_per_message_arrives_whole(server):
    # Below one read, across several reads and IPC messages (64 KB each),
    # and past the 128 KB the DATA buffer starts with.
    sizes = [10, 5000, 20000, 70000, 200000]
    sent = [send_pipelined(server, "cost-%d" % i, body_of(n, i)) for i, n in enumerate(sizes)]
    server.wait_inbox("alice@example.org", len(sent))
    stored = server.inbox_messages("alice@example.org")
    assert len(stored) == len(sent)
    for want, got in zip(sent, stored):
        # The store adds trace fields above the message: the message
        # itself follows them unchanged.
        assert got.endswith(want), (len(want), len(got))


def test_preauth_processes_stay_jailed_after_serving(server):
    for i in range(3):
        send_pipelined(server, "jail-%d" % i, body_of(3000, i))
    server.wait_inbox("alice@example.org", 3)
    # Spares made after connections were served: jailed as ever, with the
    # spawner's filter and their own.
    for pid, (exe, files, st) in live_views(server).items():
        assert st["Seccomp"].strip() == "2" and st["NoNewPrivs"].strip() == "1", pid
    assert "each child builds its own" not in server.log()
