"""The participant's pages behind a reminder's links: no login, small, translated.

GET shows what the link will do and a button; only POST changes anything, so mail scanners
and link previewers that fetch the link change nothing. A POST of ``List-Unsubscribe=One-Click``
to the stop link is a mail client's one-click unsubscribe (RFC 8058). The pages show the
site and the appointment's date and time, and nothing else of the participant or the trial.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from scheduling.models import LinkAction
from scheduling.replies.answers import LinkRefused, answer_by_link, check_link, reminder_for_token
from scheduling.timeline.wording import long_date

ONE_CLICK = "One-Click"


# A refused link's status: a link that never was (tampered, made up, an unknown action), one
# already used, or one whose visit or day has gone.
REFUSED_STATUS = {
    "tampered": 404,
    "used": 409,
    "already_off": 409,
    "expired": 410,
    "moved": 410,
    "gone": 410,
}


def _one_click_refused(refused: LinkRefused, site) -> HttpResponse:
    """A mail client's one-click unsubscribe that changed nothing. Reminders already off: what
    was asked holds, so 200 (RFC 8058 asks for success then). Any other refusal (an expired
    stop link; one used before, since when staff turned reminders back on) is not a success:
    its status says so, and the text says how to stop reminders otherwise."""
    if refused.kind == "already_off":
        return HttpResponse(refused.message, content_type="text/plain; charset=utf-8")
    text = f"{_('Nothing was changed.')} {refused.message} {_stop_otherwise(site)}"
    return HttpResponse(
        text, status=REFUSED_STATUS[refused.kind], content_type="text/plain; charset=utf-8"
    )


def _stop_otherwise(site) -> str:
    if site.phone:
        return _("To stop your reminders, please call the study team on %(phone)s.") % {
            "phone": site.phone
        }
    return _("To stop your reminders, please write to the study team at %(email)s.") % {
        "email": site.coordinator_email
    }


def _page(request, template: str, context: dict, status: int = 200) -> TemplateResponse:
    response = TemplateResponse(request, template, context, status=status)
    # Rendered here, in the caller's translation.override: a TemplateResponse left to render
    # after the view returns would come out in the default language.
    response.render()
    # The page's language, not the browser's that LocaleMiddleware would otherwise state.
    response["Content-Language"] = translation.get_language()
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _appointment(reminder) -> dict:
    visit = reminder.visit
    return {
        "site": visit.participant.site,
        "date": long_date(reminder.planned_date),
        "time": visit.booked_time if visit.appointment_day == reminder.planned_date else None,
    }


@csrf_exempt  # the signed token in the URL is the proof; mail clients POST without a form
@require_http_methods(["GET", "POST"])
def reply(request, token: str, action: str):
    """Show (GET) or do (POST) what a reminder link says."""
    # No reminder to take a language from: the browser's (Accept-Language) says why.
    browser_language = translation.get_language_from_request(request)
    with translation.override(browser_language):
        try:
            reminder = reminder_for_token(token, action)
        except LinkRefused as refused:
            context = {"problem": refused.message, "language": browser_language}
            return _page(request, "scheduling/replies/refused.html", context, 404)
    language = reminder.visit.participant.reminder_language
    with translation.override(language):
        context = {"action": action, "language": language, **_appointment(reminder)}
        one_click = request.method == "POST" and request.POST.get("List-Unsubscribe") == ONE_CLICK
        if one_click and action != LinkAction.STOP:
            # Only the stop link is a List-Unsubscribe target: a one-click body elsewhere is
            # no participant's answer.
            return HttpResponse(status=400)
        try:
            if request.method == "GET":
                check_link(reminder, action, timezone.now())
                return _page(request, "scheduling/replies/ask.html", context)
            answer_by_link(
                token,
                action,
                message=request.POST.get("message", ""),
                one_click=one_click,
            )
        except LinkRefused as refused:
            if one_click:
                return _one_click_refused(refused, reminder.visit.participant.site)
            return _page(
                request,
                "scheduling/replies/refused.html",
                {**context, "problem": refused.message, "kind": refused.kind},
                REFUSED_STATUS[refused.kind],
            )
        except ValidationError as error:
            context["errors"] = [m for messages in error.message_dict.values() for m in messages]
            return _page(request, "scheduling/replies/ask.html", context, 400)
        if one_click:
            return HttpResponse("OK", content_type="text/plain; charset=utf-8")
        return _page(request, "scheduling/replies/done.html", context)
