"""A throw-away PostgreSQL server for the tests that need one, shared by the session-scoped
``postgres`` fixture of tests/conftest.py (tests/test_e2e_postgres.py, the PostgreSQL part of
tests/test_equivalence.py).

The server is started with ``initdb``/``pg_ctl`` in a temporary folder, listening on 127.0.0.1
only (on a random free port), as an unprivileged user when the tests run as root, and stopped
afterwards. Without PostgreSQL's binaries the tests that ask for it are skipped (install the
Debian ``postgresql`` package), except in CI (``CI`` set), where they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Optional

import pytest

COMMAND_TIMEOUT = 120.0
"""A bound on each ``initdb`` and ``pg_ctl`` command (and on the commands others run with
:func:`run_command`)."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI, where the end-to-end tests must always run."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: the end-to-end tests must run in CI)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    def url(self, driver: str) -> str:
        return (
            f"postgresql+{driver}://{self.user}:{self.password}"
            f"@{self.host}:{self.port}/{self.dbname}"
        )

    def conninfo(self) -> str:
        return (
            f"host={self.host} port={self.port} user={self.user} password={self.password}"
            f" dbname={self.dbname} connect_timeout=10 application_name=leaklint-e2e-admin"
        )


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


def postgres_bindir() -> Optional[Path]:
    """The folder holding ``initdb`` and ``pg_ctl``: PATH, ``pg_config --bindir``, then Debian's
    ``/usr/lib/postgresql/<version>/bin`` (the ``postgresql`` package does not put them on PATH)."""
    candidates: list[Path] = []
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).parent)
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
            )
            candidates.append(Path(result.stdout.strip()))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def _server_user() -> Optional[pwd.struct_passwd]:
    """PostgreSQL refuses to run as root: as root, run it as ``postgres`` (or ``nobody``)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    pytest.fail("running as root, and there is neither a `postgres` nor a `nobody` user")


def _as_user(user: Optional[pwd.struct_passwd], command: Sequence[str]) -> list[str]:
    if user is None:
        return list(command)
    runuser = shutil.which("runuser")
    if runuser is not None:
        return [runuser, "-u", user.pw_name, "--", *command]
    return ["su", user.pw_name, "-s", "/bin/sh", "-c", shlex.join(command)]


def run_command(command: Sequence[str], what: str) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} did not finish in {COMMAND_TIMEOUT:.0f} s: {shlex.join(command)}")
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve() -> Iterator[PostgresServer]:
    """Start a throw-away server, yield where it listens, stop it and delete its files: the body
    of the session-scoped ``postgres`` fixture (tests/conftest.py)."""
    bindir = postgres_bindir()
    if bindir is None:
        unavailable(
            "PostgreSQL's initdb and pg_ctl were not found (on PATH, by `pg_config --bindir`, or"
            " in /usr/lib/postgresql/*/bin): install the Debian `postgresql` package"
            " (apt-get install postgresql) to run the end-to-end tests"
        )
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="leaklint-e2e-pg-"))
    data = folder / "data"
    log = folder / "postgres.log"
    password_file = folder / "password"
    password = secrets.token_hex(16)
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    if user is not None:
        for path in (folder, password_file):
            os.chown(path, user.pw_uid, user.pw_gid)
    pg_ctl = str(bindir / "pg_ctl")
    started = False
    try:
        initdb = run_command(
            _as_user(
                user,
                [
                    str(bindir / "initdb"),
                    "--pgdata",
                    str(data),
                    "--username",
                    "postgres",
                    "--auth",
                    "scram-sha-256",
                    "--pwfile",
                    str(password_file),
                    "--encoding",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
            ),
            "initdb",
        )
        assert initdb.returncode == 0, f"initdb failed:\n{initdb.stdout}{initdb.stderr}"
        for _attempt in range(3):  # another process may take the free port first
            port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            start_command = [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w"]
            start = run_command(
                _as_user(user, [*start_command, "-t", "90", "start"]), "pg_ctl start"
            )
            if start.returncode == 0:
                started = True
                break
        if not started:
            log_tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start:\n{start.stdout}{start.stderr}\n{log_tail}")
        print(
            f"\n[e2e] PostgreSQL from {bindir} on 127.0.0.1:{port}, data in {data}"
            f" (as {user.pw_name if user else 'the current user'})"
        )
        yield PostgresServer("127.0.0.1", port, "postgres", password, "postgres")
    finally:
        if started:
            stop = run_command(
                _as_user(user, [pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"]),
                "pg_ctl stop",
            )
            if stop.returncode != 0:
                run_command(
                    _as_user(user, [pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), "stop"
                )
        shutil.rmtree(folder, ignore_errors=True)
