"""`make screenshots`: PNGs of the staff workspace for people to look at, in var/screenshots/.

Runs as the demo does (`make screenshots` starts the embedded PostgreSQL and Redis when
DATABASE_URL and CELERY_BROKER_URL are unset, and stops what it started): migrates, loads the
demo data (idempotent; passwords from DEMO_PASSWORD, default "demo"), serves the project on a
free port with runserver, signs in as the demo's coordinator-ocn in Debian's Chromium
(/usr/bin/chromium, driven by Playwright; nothing is downloaded) and writes each page of PAGES
at each width of WIDTHS in each language of LANGUAGES (the browser's Accept-Language) as
var/screenshots/<page>-<language>-<width>.png, whole pages.
"""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
USERNAME = "coordinator-ocn"


def participant_page(participant) -> str:
    return f"/admin/participants/participant/{participant.pk}/change/"


# name → the page's path for the participant shown (None: no such page in this checkout,
# skipped with a note).
PAGES = {
    "dashboard": lambda participant: "/admin/",
    "participant": participant_page,
    "calendar": lambda participant: (
        f"/admin/scheduling/visit/calendar/?site={participant.site.code}"
    ),
    "audit-trail": lambda participant: (
        f"/admin/participants/participant/{participant.pk}/audit-trail/"
    ),
}
# width → (height, phone): a phone is drawn at twice its pixels, with touch, as phones are.
WIDTHS = {1400: (900, False), 390: (844, True)}
LANGUAGES = {"en": "en-GB,en;q=0.9", "de": "de-DE,de;q=0.9"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    """Wait for /healthz to answer 200 (the database reached)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"screenshots: the web server stopped (exit {server.returncode}).")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.3)
    raise SystemExit(
        f"screenshots: the web server did not answer on port {port} in {seconds:.0f} s."
    )


def shown_participant():
    """The demo participant the participant page and calendar show: the OCN participant in
    treatment with the most visits (a timeline with done, booked and planned visits)."""
    from django.db.models import Count

    from participants.models import Participant

    return (
        Participant.objects.filter(site__code="OCN", status="treatment")
        .annotate(visit_count=Count("visits"))
        .order_by("-visit_count", "subject_id")
        .first()
        or Participant.objects.filter(site__code="OCN").order_by("subject_id").first()
    )


def take(base: str, password: str, paths: dict[str, str]) -> list[Path]:
    """Sign in and write each page of ``paths`` (name → path) at each width in each language."""
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        try:
            for language, accept in LANGUAGES.items():
                for width, (height, phone) in WIDTHS.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        locale=accept.split(",")[0],
                        extra_http_headers={"Accept-Language": accept},
                        **(
                            {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
                            if phone
                            else {}
                        ),
                    )
                    page = context.new_page()
                    page.goto(f"{base}/admin/login/?next=/admin/")
                    page.fill("#id_username", USERNAME)
                    page.fill("#id_password", password)
                    page.click("input[type=submit]")
                    page.wait_for_load_state("load")
                    if "/login/" in page.url:
                        raise SystemExit(
                            f"screenshots: {USERNAME} could not sign in with DEMO_PASSWORD's "
                            "password (the demo's users keep the password they were made with)."
                        )
                    for name, path in paths.items():
                        page.goto(base + path)
                        page.wait_for_load_state("load")
                        png = OUT / f"{name}-{language}-{width}.png"
                        page.screenshot(path=str(png), full_page=True)
                        written.append(png)
                    context.close()
        finally:
            browser.close()
    return written


def main() -> int:
    os.environ.setdefault("DEBUG", "true")  # runserver serves the static files
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialsite.settings")
    password = os.environ.get("DEMO_PASSWORD", "demo")
    port = free_port()
    os.environ["SITE_URL"] = f"http://127.0.0.1:{port}"
    sys.path.insert(0, str(ROOT))
    from trialsite.startup import load_settings_or_exit

    load_settings_or_exit()
    import django

    django.setup()
    if not os.path.exists(CHROMIUM):
        print(f"screenshots: {CHROMIUM} is missing: install Debian's chromium package (apt).")
        return 1
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--no-input", "-v", "0"], ["load_demo_data"]):
        done = subprocess.run([*manage, *step], cwd=ROOT, stdout=subprocess.DEVNULL)
        if done.returncode:
            print(f"screenshots: manage.py {step[0]} failed (exit {done.returncode}).")
            return 1
    participant = shown_participant()
    if participant is None:
        print("screenshots: the demo data has no participant at OCN.")
        return 1
    # Paths worked out here: Playwright's sync API runs an event loop, where the ORM refuses.
    paths = {name: path_of(participant) for name, path_of in PAGES.items() if path_of}
    for name in PAGES.keys() - paths.keys():
        print(f"screenshots: {name} skipped: there is no such page in this checkout yet.")
    OUT.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(port, server)
        written = take(base, password, paths)
    finally:
        server.terminate()
        server.wait(timeout=15)
    print(f"screenshots: {len(written)} pages of {participant.subject_id} and its site in {OUT}:")
    for path in written:
        print(f"  {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
