"""The log is master's: children cannot write into it directly, and what
they send cannot pose as another process's line."""
import os
import subprocess

import pytest


def child_pids(server):
    out = subprocess.run(["ps", "-o", "pid=,args=", "-g", str(server.proc.pid)],
                         capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines()
            if int(line.split()[0]) != server.proc.pid]


@pytest.mark.skipif(os.geteuid() != 0, reason="reads other processes' descriptors")
def test_no_child_holds_the_log_file_or_masters_output(server):
    log = os.path.realpath(server.log_path)
    master_out = os.path.realpath(f"/proc/{server.proc.pid}/fd/1")
    pids = child_pids(server)
    assert len(pids) >= 5
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except FileNotFoundError:
            continue  # a spare that ended meanwhile
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            assert target not in (log, master_out), (pid, fd, target)
            assert not target.endswith("ravelin.log"), (pid, fd, target)
