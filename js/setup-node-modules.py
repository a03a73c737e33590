"""Installs the pinned LangGraph.js libraries (js/package.json, js/package-lock.json) into
js/node_modules with `npm ci`, once per pin files.

Usage: python3 js/setup-node-modules.py

node_modules records the SHA-256 of the pin files it was installed from and is reinstalled only
when they change. Node.js and npm must be installed (apt-get install -y nodejs npm); npm needs
the registry the first time.
"""

import hashlib
import pathlib
import shutil
import subprocess
import sys
import time

JS = pathlib.Path(__file__).resolve().parent
PINS = [JS / "package.json", JS / "package-lock.json"]
MODULES = JS / "node_modules"
STAMP = MODULES / ".sdm-pins.sha256"


def run_talking(process: subprocess.Popen, every: float = 10.0) -> int:
    """Waits for `process`, saying every `every` seconds that it still runs (npm ci prints nothing
    until it is done, about 20 s on a fresh machine)."""
    started = time.monotonic()
    while True:
        try:
            return process.wait(timeout=every)
        except subprocess.TimeoutExpired:
            print(f"  npm ci still running ({time.monotonic() - started:.0f}s)", flush=True)


def main() -> int:
    h = hashlib.sha256()
    for pin in PINS:
        try:
            h.update(pin.read_bytes())
        except OSError as e:
            print(f"error: read {pin}: {e.strerror}", file=sys.stderr)
            return 1
    digest = h.hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        print(f"{MODULES} is up to date")
        return 0
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        print("error: LangGraph.js needs Node.js and npm: install them (apt-get install -y nodejs npm)", file=sys.stderr)
        return 1
    print(f"installing js/package-lock.json into {MODULES}", flush=True)
    quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
    if run_talking(subprocess.Popen([npm, "ci", *quiet], cwd=JS)) != 0:
        print("error: npm ci could not install js/package-lock.json (it needs the npm registry)", file=sys.stderr)
        return 1
    STAMP.write_text(digest + "\n")
    print(f"installed js/package-lock.json into {MODULES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
