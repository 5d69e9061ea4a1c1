"""The language of a staff user's workspace: their own setting first, else their browser's
(Accept-Language, read by Django's ``LocaleMiddleware``), else English.

The setting is stored per user (``StaffProfile.language``) and copied into the session at
sign-in and when it is changed, so a page costs no query for it; another session of the same
user takes a change up at its next sign-in. Participants' reply pages keep their own rule (the
participant's language, ``scheduling.replies.views``): they carry no staff session.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from participants.models import STAFF_LANGUAGES, StaffProfile

SESSION_KEY = "staff_language"
CODES = frozenset(code for code, _name in STAFF_LANGUAGES)


def set_staff_language(user, language: str) -> StaffProfile:
    """Store ``user``'s workspace language ("" for their browser's)."""
    if language and language not in CODES:
        raise ValueError(f"{language!r} is not a workspace language")
    with transaction.atomic():
        profile, _created = StaffProfile.objects.update_or_create(
            user=user, defaults={"language": language}
        )
    return profile


def remember_in_session(request, language: str) -> None:
    if language:
        request.session[SESSION_KEY] = language
    else:
        request.session.pop(SESSION_KEY, None)


@receiver(user_logged_in, dispatch_uid="staff_language_on_login")
def language_on_login(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    language = (
        StaffProfile.objects.filter(user=user).values_list("language", flat=True).first() or ""
    )
    remember_in_session(request, language)


class StaffLanguageMiddleware:
    """After ``LocaleMiddleware`` (the browser's choice) and the session: the user's own
    setting, when their session holds one, wins."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            language = request.session.get(SESSION_KEY)
            if language in CODES:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of the workspace"),
        choices=[("", _("The browser's language"))] + list(STAFF_LANGUAGES),
        required=False,
    )


@never_cache
@login_required(login_url="admin:login")
def language_page(request):
    """Staff set their own workspace language (or go back to their browser's)."""
    if not request.user.is_staff:
        return redirect("admin:login")
    current = StaffProfile.objects.filter(user=request.user).values_list("language", flat=True)
    form = LanguageForm(request.POST or None, initial={"language": current.first() or ""})
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        set_staff_language(request.user, language)
        remember_in_session(request, language)
        translation.activate(language or translation.get_language_from_request(request))
        messages.success(request, gettext("Your workspace language is saved."))
        return redirect("staff_language")
    return TemplateResponse(
        request,
        "admin/staff_language.html",
        {**admin.site.each_context(request), "title": gettext("Language"), "form": form},
    )
