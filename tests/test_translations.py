"""Every text a participant reads is translated in every shipped language.

The message ids are collected the way Django itself sees them: templates are parsed by
Django's template engine and their ``{% translate %}`` / ``{% blocktranslate %}`` nodes read
(a blocktranslate's id built from its tokens by ``BlockTranslateNode.render_token_list``, so
``{{ phone }}`` becomes ``%(phone)s`` exactly as at render time); the Python ones are the
string arguments of ``gettext``/``pgettext``/``_`` calls, read with ``ast``. Each must have a
finished translation (present, not empty, not fuzzy) in the ``.po`` catalogue of each
language, with the same ``%(name)s`` placeholders as its id, and be the translation Django
actually gives (not another installed app's translation of the same id). The compiled
catalogues come from ``scripts/compile_translations.py`` (``make install``).
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import polib
import pytest
from django.template import loader
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "scheduling" / "templates"
LOCALE = ROOT / "scheduling" / "locale"
SHIPPED_LANGUAGES = ["de", "es", "fr"]

PARTICIPANT_TEMPLATES = [
    "scheduling/email/reminder.txt",
    "scheduling/email/reminder.html",
    *sorted(
        path.relative_to(TEMPLATES).as_posix()
        for path in (TEMPLATES / "scheduling" / "replies").glob("*.html")
    ),
]
PARTICIPANT_MODULES = [
    ROOT / "scheduling" / "mail" / "emails.py",
    ROOT / "scheduling" / "replies" / "answers.py",
    ROOT / "scheduling" / "replies" / "views.py",
    ROOT / "scheduling" / "timeline" / "wording.py",
]

# The gettext family: the position of the context argument and of the message id.
GETTEXT_CALLS = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


@dataclass(frozen=True)
class Message:
    msgid: str
    context: str | None
    origin: str  # where it is used, for the failure message

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.context, self.msgid)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def template_messages(name: str) -> list[Message]:
    """The message ids of one template, read from its parsed node tree."""
    template = loader.get_template(name).template
    messages = []
    for node in template.nodelist.get_nodes_by_type(TranslateNode):
        var = node.filter_expression.var
        if getattr(var, "literal", None) is None:
            continue  # {% translate some_variable %}: nothing to look up in a catalogue
        context = node.message_context.var if node.message_context else None
        messages.append(Message(str(var.literal), context, f"{name} (translate)"))
    for node in template.nodelist.get_nodes_by_type(BlockTranslateNode):
        context = node.message_context.var if node.message_context else None
        singular, _ = node.render_token_list(node.singular)
        messages.append(Message(singular, context, f"{name} (blocktranslate)"))
        if node.plural:
            plural, _ = node.render_token_list(node.plural)
            messages.append(Message(plural, context, f"{name} (blocktranslate plural)"))
    return messages


def python_messages(path: Path) -> list[Message]:
    """The message ids of the gettext calls of one module: string literals, or module-level
    string constants (``pgettext("long date format", LONG_DATE)``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    constants = {
        target.id: statement.value.value
        for statement in tree.body
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
        for target in statement.targets
        if isinstance(target, ast.Name) and isinstance(statement.value.value, str)
    }

    def text(argument: ast.expr, origin: str) -> str:
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            return argument.value
        if isinstance(argument, ast.Name) and argument.id in constants:
            return constants[argument.id]
        raise AssertionError(f"{origin}: no string a catalogue can hold: {ast.unparse(argument)}")

    messages = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in GETTEXT_CALLS:
            continue
        context_at, msgid_at = GETTEXT_CALLS[name]
        origin = f"{path.relative_to(ROOT)}:{node.lineno} ({name})"
        context = None if context_at is None else text(node.args[context_at], origin)
        messages.append(Message(text(node.args[msgid_at], origin), context, origin))
        if name.startswith(("ngettext", "npgettext")):
            plural = text(node.args[msgid_at + 1], origin)
            messages.append(Message(plural, context, origin + " plural"))
    return messages


def participant_messages() -> list[Message]:
    messages = [m for name in PARTICIPANT_TEMPLATES for m in template_messages(name)]
    messages += [m for path in PARTICIPANT_MODULES for m in python_messages(path)]
    return messages


def catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def translation_problems(messages: list[Message], po: polib.POFile) -> list[str]:
    """Why each message has no usable translation in ``po``: missing, empty, fuzzy, or with
    other ``%(name)s`` placeholders than its id. Empty when all are translated."""
    entries = {}
    for entry in po:
        if entry.obsolete:
            continue
        entries[(entry.msgctxt, entry.msgid)] = entry
        if entry.msgid_plural:
            entries[(entry.msgctxt, entry.msgid_plural)] = entry
    problems = []
    for message in messages:
        entry = entries.get(message.key)
        where = f"{message.msgid!r} ({message.origin})"
        if entry is None:
            problems.append(f"missing: {where}")
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {where}")
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not translations or not all(text.strip() for text in translations):
            problems.append(f"empty: {where}")
            continue
        for text in translations:
            if placeholders(text) != placeholders(message.msgid):
                problems.append(
                    f"placeholders {placeholders(text)} instead of "
                    f"{placeholders(message.msgid)}: {where} -> {text!r}"
                )
    return problems


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_every_participant_facing_message_has_a_finished_translation(language):
    problems = translation_problems(participant_messages(), catalogue(language))
    assert problems == [], f"{language}: " + "\n".join(problems)


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_django_gives_the_shipped_translation_not_another_apps(language):
    # Django merges the catalogues of every installed app, and an app listed earlier
    # (django.contrib.admin) wins for a message id both translate ("Time:" is "Zeit:" there).
    shipped = {(e.msgctxt, e.msgid): e.msgstr for e in catalogue(language) if e.msgstr}
    wrong = []
    with translation.override(language):
        for context, msgid in sorted({m.key for m in participant_messages()}, key=str):
            if (context, msgid) not in shipped:
                continue  # reported by the test above
            given = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
            if given != shipped[(context, msgid)]:
                wrong.append(f"{msgid!r}: {given!r} instead of {shipped[(context, msgid)]!r}")
    assert wrong == []


def test_message_ids_are_collected_as_django_renders_them():
    keys = {message.key for message in participant_messages()}
    # translate, blocktranslate with a variable, blocktranslate without, and Python's gettext
    # and pgettext: if one kind were missed, the test above would pass on nothing.
    assert (None, "Hello,") in keys
    assert (None, "Questions? Call the study team on %(phone)s.") in keys
    assert (
        None,
        "The links work until the end of the visit day. "
        "You can also reply to this email or call the study team.",
    ) in keys
    assert (None, "Reminder: your study visit on %(date)s") in keys
    assert ("long date format", "l j F Y") in keys
    assert (None, "This link has already been used.") in keys
    assert {m.origin.split(" ")[0] for m in participant_messages()} >= set(PARTICIPANT_TEMPLATES)


def test_a_message_removed_from_the_catalogue_is_reported():
    po = catalogue("de")
    entry = po.find("Questions? Call the study team on %(phone)s.")
    po.remove(entry)
    problems = translation_problems(participant_messages(), po)
    assert problems == [
        "missing: 'Questions? Call the study team on %(phone)s.' "
        "(scheduling/replies/done.html (blocktranslate))"
    ]


def test_a_message_in_another_context_is_not_a_translation():
    po = catalogue("de")
    po.find("l j F Y", msgctxt="long date format").msgctxt = "another context"
    [problem] = translation_problems(participant_messages(), po)
    assert problem.startswith("missing: 'l j F Y' (scheduling/timeline/wording.py:")


def test_an_empty_or_fuzzy_translation_is_reported():
    po = catalogue("es")
    po.find("Hello,").msgstr = ""
    po.find("This link has expired.").flags.append("fuzzy")
    problems = translation_problems(participant_messages(), po)
    assert sorted(problem.split(" (")[0] for problem in problems) == [
        "empty: 'Hello,'",  # in the text and in the HTML reminder
        "empty: 'Hello,'",
        "fuzzy: 'This link has expired.'",
    ]


def test_a_translation_with_other_placeholders_is_reported():
    po = catalogue("fr")
    po.find("Reminder: your study visit on %(date)s").msgstr = "Rappel : votre visite le %(day)s"
    [problem] = translation_problems(participant_messages(), po)
    assert problem.startswith(
        "placeholders ['day'] instead of ['date']: 'Reminder: your study visit on %(date)s' "
        "(scheduling/mail/emails.py:"
    )
    assert problem.endswith("-> 'Rappel : votre visite le %(day)s'")
