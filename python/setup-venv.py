"""Creates the project's venv (.venv) with the pinned LangGraph libraries, once per requirements.

Usage: python3 python/setup-venv.py [--requirements FILE] [--venv DIR]

The defaults are python/requirements.txt and .venv at the workspace root. The venv records the
SHA-256 of the requirements it was built from, and is rebuilt only when they change; tests that
pin another release build theirs under target/ the same way.
"""

import argparse
import hashlib
import pathlib
import subprocess
import sys
import venv

ROOT = pathlib.Path(__file__).resolve().parent.parent
STAMP_NAME = ".requirements.sha256"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=pathlib.Path, default=ROOT / "python" / "requirements.txt")
    parser.add_argument("--venv", type=pathlib.Path, default=ROOT / ".venv")
    args = parser.parse_args()
    requirements, env = args.requirements.resolve(), args.venv.resolve()
    stamp = env / STAMP_NAME
    try:
        digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    except OSError as e:
        print(f"error: read {requirements}: {e.strerror}", file=sys.stderr)
        return 1
    if stamp.exists() and stamp.read_text().strip() == digest:
        print(f"venv {env} is up to date")
        return 0
    if not (env / "bin" / "python").exists():
        print(f"creating venv {env}")
        venv.create(env, with_pip=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + ["-r", str(requirements)], check=True)
    stamp.write_text(digest + "\n")
    shown = requirements.relative_to(ROOT) if requirements.is_relative_to(ROOT) else requirements
    print(f"installed {shown} into {env}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
