"""`make test` makes sure of the Debian packages the suite needs (scripts/test_prerequisites.sh)."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "test_prerequisites.sh"


def _run(*, chromium: str, as_nobody: bool) -> subprocess.CompletedProcess:
    # The script is given on standard input, read here: the project may be cloned in a folder
    # that user nobody cannot enter (a private one, mode 700), which must not change the test.
    command = ["bash", "-s"]
    if as_nobody:
        # Not root: it may not install, so it must stop with one line saying what to install.
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    return subprocess.run(
        command,
        input=SCRIPT.read_text(),
        env={**os.environ, "CHROMIUM": chromium},
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )


def test_nothing_to_do_when_chromium_and_docker_compose_are_installed():
    result = _run(chromium="/usr/bin/chromium", as_nobody=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_missing_package_without_root_stops_with_one_line_naming_it_and_the_command():
    result = _run(chromium="/nonexistent/chromium", as_nobody=True)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines == [
        "make test: missing Debian package(s): chromium; "
        "install with: sudo apt-get install -y chromium"
    ]
    assert result.stderr == ""


def test_the_project_reads_nothing_outside_its_own_tree():
    # A person who clones the project has no ../shared: no code, test or build file may use it.
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        name
        for name in tracked
        if name != "tests/test_prerequisites.py"  # names what it looks for
        if name.endswith((".py", ".sh", ".toml", ".yml", ".cfg")) or name in {"Makefile", ".ci/run"}
        if "../shared" in (ROOT / name).read_text(encoding="utf-8", errors="replace")
        or '"shared"' in (ROOT / name).read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []
