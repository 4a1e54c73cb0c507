"""The peers' packages: node and npm checked, `npm ci` from a committed lock, versions read.

Each peer is a folder of bench/ with a `package.json` and the `package-lock.json` that pins
it (bench/peer/ for Hive Gateway, bench/tailcall/ for Tailcall). Its node_modules is
installed by `npm ci` when missing or installed from another lock, and stamped with the
digest of the lock it came from. Nothing here says which peer: each passes its folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

# Both peers support Node 20 and later (Hive Gateway 2 needs it; Tailcall's package is a
# binary that npm merely unpacks).
NODE_MAJOR_MIN = 20
NPM_CI = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
INSTALL_SECONDS = 900.0
# Written into node_modules after a successful `npm ci`: the lock it was installed from.
_STAMP = ".ownergraph-lock-sha256"


def available() -> str | None:
    """None when node and npm can install and run a peer; otherwise why not, for the report."""
    node = shutil.which("node")
    if node is None:
        return "node is not installed"
    if shutil.which("npm") is None:
        return "npm is not installed"
    try:
        done = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"node does not run: {error}"
    found = re.match(r"v(\d+)\.", done.stdout.strip())
    if done.returncode != 0 or found is None:
        return f"node --version answered {done.stdout.strip() or done.stderr.strip()!r}"
    if int(found.group(1)) < NODE_MAJOR_MIN:
        return f"node {done.stdout.strip()} is older than {NODE_MAJOR_MIN}"
    return None


def _lock_digest(folder: Path) -> str:
    return hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()


def installed(folder: Path) -> bool:
    """Whether `folder`/node_modules holds exactly what its package-lock.json pins."""
    stamp = folder / "node_modules" / _STAMP
    try:
        return stamp.read_text().strip() == _lock_digest(folder)
    except OSError:
        return False


def install(folder: Path) -> None:
    """`npm ci` in `folder` when node_modules is missing or was not installed from this lock.

    Install scripts are not run: no package here needs one, and a postinstall that
    downloads anything would fail where only the registry is reachable.
    """
    if installed(folder):
        return
    try:
        done = subprocess.run(
            NPM_CI,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=INSTALL_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"npm ci took more than {INSTALL_SECONDS:.0f} s") from None
    if done.returncode != 0:
        raise RuntimeError(
            f"npm ci failed ({done.returncode}):\n{(done.stderr or done.stdout)[-3000:]}"
        )
    (folder / "node_modules" / _STAMP).write_text(_lock_digest(folder) + "\n")


def prepare(folder: Path) -> str | None:
    """`available()` then `install()`: None when the peer can be started, else why not."""
    reason = available()
    if reason is not None:
        return reason
    try:
        install(folder)
    except (OSError, RuntimeError) as error:
        return str(error).splitlines()[0]
    return None


def node_version() -> str:
    """`node --version`, or "unknown"."""
    node = shutil.which("node")
    if node is None:
        return "unknown"
    try:
        done = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def package_versions(folder: Path, packages: Iterable[str]) -> dict[str, str]:
    """The installed version of each package in `folder`/node_modules, for the report."""
    out: dict[str, str] = {}
    for package in packages:
        try:
            manifest = json.loads((folder / "node_modules" / package / "package.json").read_text())
            out[package] = str(manifest["version"])
        except (OSError, ValueError, KeyError):
            out[package] = "not installed"
    return out
