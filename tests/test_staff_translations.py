"""Every text of the staff workspace is translated into German, Spanish and French.

The message ids are collected as ``test_translations`` collects the participants' (templates
parsed by Django's engine, ``gettext`` calls read with ``ast``), from every staff template and
every module of the three packages (migrations and the participant-facing modules aside, which
``test_translations`` checks). Each must have a finished translation (present, not empty, not
fuzzy, with the same placeholders) in one of the project's catalogues (``participants/locale``,
``scheduling/locale``, ``trialsite/locale``), or be one of Django's own (its admin's "Home",
"Save"), which Django translates.
"""

import gettext as gettext_module
from pathlib import Path

import django
import polib
import pytest
from django.apps import apps
from django.utils import translation

from tests.test_translations import (
    PARTICIPANT_MODULES,
    PARTICIPANT_TEMPLATES,
    ROOT,
    SHIPPED_LANGUAGES,
    Message,
    placeholders,
    python_messages,
    template_messages,
)

PACKAGES = ("participants", "scheduling", "trialsite")
# Templates a participant reads (test_translations), or that only a mail client shows.
NOT_STAFF_TEMPLATES = {
    *PARTICIPANT_TEMPLATES,
    "scheduling/email/reminder.txt",
    "scheduling/email/digest.txt",
    "scheduling/email/digest.html",
}


def staff_templates() -> list[str]:
    names = []
    for package in PACKAGES:
        folder = ROOT / package / "templates"
        for path in sorted(folder.rglob("*.html")) + sorted(folder.rglob("*.txt")):
            name = path.relative_to(folder).as_posix()
            if name not in NOT_STAFF_TEMPLATES:
                names.append(name)
    return names


def staff_modules() -> list[Path]:
    skip = {path.resolve() for path in PARTICIPANT_MODULES}
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and path.resolve() not in skip
    ]


def staff_messages() -> list[Message]:
    messages = [m for name in staff_templates() for m in template_messages(name)]
    messages += [m for path in staff_modules() for m in python_messages(path)]
    return messages


def project_catalogues(language: str) -> list[polib.POFile]:
    return [
        polib.pofile(str(path))
        for package in PACKAGES
        for path in sorted((ROOT / package / "locale" / language / "LC_MESSAGES").glob("*.po"))
    ]


def djangos_own(language: str) -> dict:
    """What Django and the other installed apps translate by themselves, ids to texts: the
    catalogues shipped with them, not the project's."""
    folders = [Path(django.__file__).parent / "conf" / "locale"]
    folders += [
        Path(config.path) / "locale"
        for config in apps.get_app_configs()
        if config.name.split(".")[0] not in PACKAGES
    ]
    catalogue = {}
    for folder in folders:
        found = gettext_module.translation("django", str(folder), [language], fallback=True)
        catalogue.update(getattr(found, "_catalog", {}))
    return catalogue


def untranslated(messages: list[Message], language: str, catalogues=None) -> list[str]:
    """Why each message has no translation for ``language``: missing, empty, fuzzy, or with
    other placeholders than its id. Empty when all are translated."""
    entries = {}
    for po in catalogues if catalogues is not None else project_catalogues(language):
        for entry in po:
            if not entry.obsolete:
                entries[(entry.msgctxt, entry.msgid)] = entry
                if entry.msgid_plural:
                    entries[(entry.msgctxt, entry.msgid_plural)] = entry
    django_catalogue = djangos_own(language)
    problems = []
    for message in messages:
        where = f"{message.msgid!r} ({message.origin})"
        entry = entries.get(message.key)
        if entry is None:
            key = (
                message.msgid
                if message.context is None
                else f"{message.context}\x04{message.msgid}"
            )
            if django_catalogue.get(key) or any(
                isinstance(k, tuple) and k[0] == key for k in django_catalogue
            ):
                continue  # Django's admin translates it ("Home", "Save")
            problems.append(f"missing: {where}")
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {where}")
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not texts or not all(text.strip() for text in texts):
            problems.append(f"empty: {where}")
            continue
        wanted = placeholders(message.msgid)
        for text in texts:
            # A plural form may leave the count out ("eine Erinnerung"), never add a name.
            if not set(placeholders(text)) <= set(wanted) or (
                not entry.msgid_plural and placeholders(text) != wanted
            ):
                problems.append(f"placeholders {placeholders(text)} instead of {wanted}: {where}")
    return sorted(set(problems))


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_every_staff_message_has_a_finished_translation(language):
    problems = untranslated(staff_messages(), language)
    assert problems == [], f"{language}: {len(problems)} untranslated\n" + "\n".join(problems)


def test_staff_messages_are_collected_from_templates_and_modules():
    # If a kind of source were missed, the test above would pass on nothing.
    origins = {message.origin.split(" ")[0].split(":")[0] for message in staff_messages()}
    assert "admin/workspace_index.html" in origins  # the dashboard
    assert "admin/scheduling/participant/change_form.html" in origins
    assert "admin/scheduling/calendar.html" in origins
    assert "admin/scheduling/visit/day_picker.html" in origins
    assert "participants/models/people.py" in origins  # the models: a package of modules
    assert "scheduling/models/visits.py" in origins
    assert "scheduling/admin/visit_rows.py" in origins
    assert "scheduling/mail/dispatch_health.py" in origins
    keys = {message.key for message in staff_messages()}
    assert (None, "Visits due this week") in keys
    assert (None, "Day %(day)s") in keys  # a blocktranslate with a variable
    assert ("reminders", "sent") in keys  # a translate with a context
    assert (None, "Lost to follow-up") in keys  # a model's choice label


def test_a_staff_message_missing_from_the_catalogues_is_reported():
    # Checks that the test above would fail: one entry taken out is named, with its origin.
    catalogues = project_catalogues("de")
    for po in catalogues:
        entry = po.find("Visits due this week")
        if entry is not None:
            po.remove(entry)
    problems = untranslated(staff_messages(), "de", catalogues)
    assert problems == ["missing: 'Visits due this week' (admin/workspace_index.html (translate))"]


def test_a_message_django_translates_needs_no_entry_of_ours():
    # Checks the exception for Django's own words ("Home") and only for them.
    messages = [Message("Home", None, "a breadcrumb"), Message("Unheard of", None, "nowhere")]
    assert untranslated(messages, "de") == ["missing: 'Unheard of' (nowhere)"]


def test_the_active_language_gives_the_staff_translation():
    # Checks that the compiled catalogues are the ones Django reads (make install).
    with translation.override("de"):
        assert translation.gettext("Visits due this week") != "Visits due this week"
        assert str(translation.gettext_lazy("Lost to follow-up")) != "Lost to follow-up"
