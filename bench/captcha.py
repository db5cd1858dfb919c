"""Benchmark of the registration captcha: what the proof of work costs a person and a robot.

The same random challenges are solved, at each difficulty, by the page's own script in
Chromium (Debian's, through Playwright, the workers the page starts on this machine's cores)
and by a Python script on one core (hashlib, as a robot would start). Printed side by side:
median and 90th percentile of the solve time, and the hashes per second of each.

    python -m bench.captcha [--difficultes 20,22,24] [--essais 8]

The realm's difficulty (`REALM_CAPTCHA_DIFFICULTE`, default 22) should cost the script at
least a second and the browser less than three (docs/security.md).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bridge.devstack.ports import LOOPBACK

SCRIPT = (
    Path(__file__).resolve().parents[1]
    / "keycloak/themes/demarches-dsfr/login/resources/js/captcha.js"
)
CHROMIUM = "/usr/bin/chromium"
PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>captcha</title>
<script type="module">
import { solve } from "/captcha.js";
window.timed = async (challenge, difficulty) => {
  const started = performance.now();
  const nonce = await solve(challenge, difficulty);
  return [nonce, performance.now() - started];
};
window.ready = true;
</script></head><body></body></html>"""


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def solve_in_python(challenge: str, difficulty: int) -> tuple[int, int]:
    """The nonce and the number of hashes tried, on one core (a tight loop, as a robot would
    write it: the first four bytes compared to a bound, no function call per hash)."""
    sha256, prefix, bound = hashlib.sha256, f"{challenge}:".encode(), 1 << (32 - difficulty)
    nonce = 0
    while int.from_bytes(sha256(prefix + str(nonce).encode()).digest()[:4]) >= bound:
        nonce += 1
    return nonce, nonce + 1


class _Files(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind = (
            (SCRIPT.read_bytes(), "text/javascript")
            if self.path == "/captcha.js"
            else (PAGE.encode(), "text/html")
        )
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def served() -> Iterator[str]:
    """The page and the script on a loopback port, stopped afterwards."""
    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), functools.partial(_Files))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def figures(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"médiane {statistics.median(ordered):.2f} s, p90 {p90:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--difficultes", default="20,22,24")
    parser.add_argument("--essais", type=int, default=8, help="défis par difficulté")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        print("Chromium est absent : lancez « make setup-browser ».", file=sys.stderr)
        return 2
    with served() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("window.ready === true")
        cores = page.evaluate("navigator.hardwareConcurrency")
        for difficulty in (int(d) for d in args.difficultes.split(",")):
            browser_times, script_times, hashes = [], [], 0
            for _ in range(args.essais):
                challenge = secrets.token_hex(16)
                nonce, millis = page.evaluate(
                    "([c, d]) => window.timed(c, d)", [challenge, difficulty]
                )
                digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
                if leading_zero_bits(digest) < difficulty:
                    raise SystemExit(f"réponse fausse de Chromium pour {challenge} : {nonce}")
                browser_times.append(millis / 1000)
                started = time.perf_counter()
                _, tried = solve_in_python(challenge, difficulty)
                script_times.append(time.perf_counter() - started)
                hashes += tried
            rate = hashes / sum(script_times) / 1e6
            line = (
                f"difficulté {difficulty} bits : Chromium ({cores} cœurs) "
                f"{figures(browser_times)} | script Python (1 cœur, {rate:.1f} M hash/s) "
                f"{figures(script_times)}"
            )
            print(line, flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
