"""Small stdlib-only helpers shared by the benchmark scripts in bench/.

Nothing here needs the project's virtualenv: a minimal DNS client (enough to probe a
server and classify its answer), /proc readers for memory and CPU, dnsperf output
parsing, free-port picking and child-process bookkeeping.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# ---------------------------------------------------------------- DNS client

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.strip(".").split("."):
        if label:
            b = label.encode("ascii")
            out.append(len(b))
            out += b
    out.append(0)
    return bytes(out)


def build_query(name: str, qtype: str = "A", qid: int | None = None) -> tuple[int, bytes]:
    if qid is None:
        qid = random.randrange(0, 65536)
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)  # RD=1
    return qid, header + encode_name(name) + struct.pack("!HH", QTYPES[qtype], 1)


def _skip_name(msg: bytes, i: int) -> int:
    while True:
        ln = msg[i]
        if ln == 0:
            return i + 1
        if ln & 0xC0 == 0xC0:
            return i + 2
        i += ln + 1


@dataclass
class Answer:
    rcode: str
    records: list[tuple[int, bytes]] = field(default_factory=list)  # (type, rdata)

    def addresses(self) -> list[str]:
        out = []
        for t, rd in self.records:
            if t == 1 and len(rd) == 4:
                out.append(socket.inet_ntop(socket.AF_INET, rd))
            elif t == 28 and len(rd) == 16:
                out.append(socket.inet_ntop(socket.AF_INET6, rd))
        return out

    def txt(self) -> str:
        parts = []
        for t, rd in self.records:
            if t == 16:
                i = 0
                while i < len(rd):
                    ln = rd[i]
                    parts.append(rd[i + 1:i + 1 + ln].decode("ascii", "replace"))
                    i += ln + 1
        return "".join(parts)

    def summary(self) -> str:
        kinds = sorted({t for t, _ in self.records})
        names = {v: k for k, v in QTYPES.items()}
        extra = [names.get(t, str(t)) for t in kinds if t not in (1, 28)]
        return f"{self.rcode} {','.join(self.addresses() + extra) or '(no answer)'}"


def parse_response(msg: bytes) -> Answer:
    qid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", msg[:12])
    rcode = RCODES.get(flags & 0x0F, str(flags & 0x0F))
    i = 12
    for _ in range(qd):
        i = _skip_name(msg, i) + 4
    recs = []
    for _ in range(an):
        i = _skip_name(msg, i)
        rtype, _rclass, _ttl, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        i += 10
        recs.append((rtype, msg[i:i + rdlen]))
        i += rdlen
    return Answer(rcode, recs)


def dns_query(host: str, port: int, name: str, qtype: str = "A",
              timeout: float = 1.0) -> Answer | None:
    """One UDP query; None on timeout / connection refused."""
    qid, pkt = build_query(name, qtype)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            s.send(pkt)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                data = s.recv(4096)
                if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                    return parse_response(data)
        except (TimeoutError, ConnectionRefusedError, OSError):
            return None
    return None


# ---------------------------------------------------------------- processes

def free_port() -> int:
    """A port that is free for both UDP and TCP on 127.0.0.1 (best effort)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port found")


def proc_tree(pid: int) -> list[int]:
    """pid and all its descendants (via /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children")
                             .read_text().split()]
    return out


def rss_bytes(pid: int) -> int:
    """VmRSS of one process, in bytes (0 if gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(pid: int) -> int:
    return sum(rss_bytes(p) for p in proc_tree(pid))


def pss_bytes(pid: int) -> int:
    """Proportional set size (shared pages divided among their users), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_pss_bytes(pid: int) -> int:
    """PSS summed over a process tree: forked workers sharing pages are not double-counted."""
    return sum(pss_bytes(p) for p in proc_tree(pid))


_CLK = os.sysconf("SC_CLK_TCK")


def cpu_split(pid: int) -> tuple[float, float]:
    """(utime, stime) of pid and its live descendants (all threads), in seconds: the CPU
    spent in the program and in the kernel for it (system calls: sockets, files)."""
    user = system = 0
    for p in proc_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            user, system = user + int(fields[11]), system + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return user / _CLK, system / _CLK


def cpu_seconds(pid: int) -> float:
    """utime+stime of pid and its live descendants (all threads), in seconds."""
    return sum(cpu_split(pid))


CHILD_NICE = 0  # set by the benchmark: nice level of every child's scheduling group


def set_autogroup_nice(nice: int) -> bool:
    """With the kernel's autogroup scheduling (sched_autogroup_enabled=1) every session
    (setsid) is its own CPU group, and groups share the CPU equally whatever the nice level
    of their processes. The group's own nice is in /proc/self/autogroup."""
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(nice))
        return True
    except OSError:
        return False


def child_setup() -> None:
    """In the child before exec: own process group (so that the whole group can be
    stopped), SIGTERM when the benchmark dies even by SIGKILL (Linux PDEATHSIG), and the
    benchmark's nice level for its new scheduling group."""
    os.setsid()
    if CHILD_NICE:
        set_autogroup_nice(CHILD_NICE)
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = f[:7]
    steal = f[7] if len(f) > 7 else 0
    return (user + nice + system + irq + softirq) / _CLK, steal / _CLK


class Children:
    """Keeps track of started child processes and stops them all (SIGTERM, then SIGKILL)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], log_path: Path, **kw: object) -> subprocess.Popen[bytes]:
        with open(log_path, "ab") as log:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 preexec_fn=child_setup, **kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen[bytes], timeout: float = 5.0) -> int | None:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout)
        if p in self.procs:
            self.procs.remove(p)
        return p.returncode

    def stop_all(self) -> None:
        for p in list(reversed(self.procs)):
            with contextlib.suppress(Exception):
                self.stop(p)


def tail(path: Path, lines: int = 25) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(data.splitlines()[-lines:])


def wait_ready(p: subprocess.Popen[bytes], port: int, timeout: float,
               probe: str = "example.com") -> float | None:
    """Poll with real DNS queries until the server answers; seconds waited, None if it
    exited or did not answer within timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if p.poll() is not None:
            return None
        if dns_query("127.0.0.1", port, probe, timeout=0.2) is not None:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


# ---------------------------------------------------------------- data

def read_domains(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:  # type: ignore[operator]
        for line in f:
            d = line.strip().lower().rstrip(".")
            if d and not d.startswith(("#", "!")):
                yield d


def psl_rules(path: Path) -> set[str]:
    """Plain and wildcard rules of the Public Suffix List (wildcards as '*.x'); exceptions
    are ignored (this is only used to keep public suffixes out of query samples)."""
    rules: set[str] = set()
    if not path.exists():
        return rules
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("//") or line.startswith("!"):
            continue
        try:
            rules.add(line.encode("idna").decode("ascii").lower())
        except UnicodeError:
            rules.add(line.lower())
    return rules


def is_public_suffix(name: str, rules: set[str]) -> bool:
    if name in rules:
        return True
    parent = name.partition(".")[2]
    return bool(parent) and f"*.{parent}" in rules


def blocked_by_suffix(name: str, domains: set[str] | frozenset[str]) -> bool:
    """True if name or any parent domain of it is in domains (dnsmasq address=/x/ semantics)."""
    while name:
        if name in domains:
            return True
        name = name.partition(".")[2]
    return False


_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


def valid_hostname(name: str) -> bool:
    if len(name) > 253 or "." not in name:
        return False
    return all(_LABEL.match(lbl) for lbl in name.split("."))


def write_queryfile(path: Path, names: Iterable[str], qtype: str = "A") -> int:
    n = 0
    with open(path, "w", encoding="ascii") as f:
        for name in names:
            f.write(f"{name} {qtype}\n")
            n += 1
    return n


# ---------------------------------------------------------------- dnsperf

_DNSPERF_FIELDS = {
    "sent": r"Queries sent:\s+(\d+)",
    "completed": r"Queries completed:\s+(\d+)",
    "lost": r"Queries lost:\s+(\d+)",
    "run_time_s": r"Run time \(s\):\s+([\d.]+)",
    "qps": r"Queries per second:\s+([\d.]+)",
    "avg_latency_s": r"Average Latency \(s\):\s+([\d.]+)",
    "max_latency_s": r"Average Latency \(s\):\s+[\d.]+ \(min [\d.]+, max ([\d.]+)\)",
}


def parse_dnsperf(text: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, pat in _DNSPERF_FIELDS.items():
        m = re.search(pat, text)
        if m:
            v = m.group(1)
            out[key] = float(v) if "." in v else int(v)
    m = re.search(r"Response codes:\s+(.*)", text)
    if m:
        out["rcodes"] = {k: int(v) for k, v in re.findall(r"([A-Z]+) (\d+) \(", m.group(1))}
    return out


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ('' if unknown)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return ""
