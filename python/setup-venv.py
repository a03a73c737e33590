"""Creates the project's venv (.venv) with the pinned LangGraph libraries, once per requirements."""

import hashlib
import pathlib
import subprocess
import sys
import venv

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "python" / "requirements.txt"
STAMP = VENV / ".requirements.sha256"


def main() -> int:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        print(f"venv {VENV} is up to date")
        return 0
    if not (VENV / "bin" / "python").exists():
        print(f"creating venv {VENV}")
        venv.create(VENV, with_pip=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + ["-r", str(REQUIREMENTS)], check=True)
    STAMP.write_text(digest + "\n")
    print(f"installed {REQUIREMENTS.relative_to(ROOT)} into {VENV}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
