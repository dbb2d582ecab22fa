"""The measuring half of `make bench` (bench/run.sh starts the server, then this).

Runs wrk against each public page for a bounded time, then the booking load, then reads
each gunicorn worker's resident memory, and prints one table with a line per target.
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import booking_load  # noqa: E402

LUA = BENCH_DIR / "report.lua"
PAGE_TARGET = 0.80  # of /ping's throughput
SEARCH_TARGET = 0.30  # on PostgreSQL
P99_TARGET_MS = 25
RSS_TARGET_MB = 100


def get(base: str, path: str, headers: dict | None = None):
    """One GET without following redirects: (status, headers, body)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def run_wrk(url: str, *, duration: int, connections: int, expect: int, headers=()) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "2s"]
    command += ["-s", str(LUA)]
    for header in headers:
        command += ["-H", header]
    result = subprocess.run(
        [*command, url],
        env={**os.environ, "BENCH_EXPECT": str(expect)},
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    )
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("BENCH "))
    data = json.loads(line.removeprefix("BENCH "))
    seconds = data["duration_us"] / 1e6
    return {
        "rps": data["requests"] / seconds if seconds else 0.0,
        "p50": data["p50_us"] / 1000,
        "p99": data["p99_us"] / 1000,
        "errors": data["unexpected"] + data["socket"],
    }


def first_article_path(base: str) -> str | None:
    status, _, body = get(base, "/articles/")
    if status != 200:
        return None
    match = re.search(r'href="(/articles/[\w-]+/)"', body.decode())
    return match.group(1) if match else None


def conditional_headers(base: str, path: str) -> list[str]:
    """The validators of one plain request, as If-None-Match / If-Modified-Since headers."""
    _, headers, _ = get(base, path)
    headers = {k.lower(): v for k, v in headers.items()}
    sent = []
    if "etag" in headers:
        sent.append(f"If-None-Match: {headers['etag']}")
    if "last-modified" in headers:
        sent.append(f"If-Modified-Since: {headers['last-modified']}")
    return sent


def worker_rss_mb(master: int) -> list[float]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        kb = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1))
        sizes.append(kb / 1024)
    return sizes


def warm_up(base: str, path: str, headers=(), count: int = 20) -> int:
    """A few sequential requests so each worker has loaded its code and caches."""
    status = 0
    sent = dict(h.split(": ", 1) for h in headers)
    for _ in range(count):
        status, _, _ = get(base, path, sent)
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--master", type=int, required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    base = args.base.rstrip("/")

    article = first_article_path(base)
    pages = [
        ("/ping (baseline)", "/ping", 200, ()),
        ("home", "/", 200, ()),
        ("article", article, 200, ()),
        ("article list", "/articles/", 200, ()),
        ("search BDNF", "/search/?q=BDNF", 200, ()),
    ]
    conditional_path = article or "/"
    validators = conditional_headers(base, conditional_path)
    pages.append(("conditional GET (304)", conditional_path, 304, validators))

    rows = []
    notes = []
    for name, path, expect, headers in pages:
        if path is None:
            rows.append((name, None))
            notes.append(f"{name}: no such page on this branch")
            continue
        status = warm_up(base, path, headers)
        if status != expect:
            notes.append(f"{name}: {path} answered {status}, expected {expect}")
            if status == 404:
                rows.append((name, None))
                continue
        print(f"bench: wrk {path} for {args.duration} s", file=sys.stderr)
        result = run_wrk(
            base + path,
            duration=args.duration,
            connections=args.connections,
            expect=expect,
            headers=headers,
        )
        rows.append((name, result))

    print("bench: booking load", file=sys.stderr)
    booking = booking_load.run(base)
    if booking is None:
        rows.append(("booking POST", None))
        notes.append("booking: no /book/ page on this branch")
    else:
        rows.append(("booking POST", booking.result))
        notes.extend(booking.notes)

    rss = worker_rss_mb(args.master)
    print_table(rows, rss, notes, database=os.environ.get("DATABASE_URL", "").split(":")[0])
    failed = [name for name, result in rows if result and result["errors"]]
    return 1 if failed or (booking and not booking.ok) else 0


def print_table(rows, rss, notes, *, database: str) -> None:
    baseline = rows[0][1]["rps"] if rows and rows[0][1] else None
    header = f"{'page':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs /ping':>9}"
    print()
    print(f"make bench on {database}: 2 gunicorn workers, wrk 2 threads")
    print(header)
    print("-" * len(header))
    for name, result in rows:
        if result is None:
            print(f"{name:<40} {'n/a':>8}")
            continue
        ratio = f"{result['rps'] / baseline:.0%}" if baseline else "-"
        print(
            f"{name:<40} {result['rps']:>8.0f} {result['p50']:>8.1f} {result['p99']:>8.1f} "
            f"{result['errors']:>7d} {ratio:>9}"
        )
    print()
    print("worker RSS after the run: " + ", ".join(f"{mb:.0f} MB" for mb in rss))
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    sys.exit(main())
