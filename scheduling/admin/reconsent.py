"""A participant's re-consent to a newer protocol version (a page of the participant admin):
the version (one in force at their site, newer than theirs), the day and why; the first post
shows what it changes, visit by visit (``versions.record_reconsent(..., dry_run=True)``), the
confirmation applies it in one transaction. A refusal comes back on the field it names.

Needs ``scheduling.add_versiontakeup`` and the participant's site among the user's (another
site's participant is a 404, as on their page)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from participants.admin import errors_onto_form
from participants.admin.widgets import IsoDateInput
from scheduling.models import ProtocolVersion, VersionActivation, version_key
from scheduling.timeline import versions
from scheduling.timeline.plans import Followed

RECONSENT = "scheduling.add_versiontakeup"


def reconsent_versions(participant, followed: Followed | None) -> list[ProtocolVersion]:
    """The versions in force at the participant's site newer than the one they follow."""
    active = [
        activation.version
        for activation in VersionActivation.objects.filter(
            site_id=participant.site_id, version__protocol_id=participant.protocol_id
        ).select_related("version")
    ]
    current = (
        ProtocolVersion.objects.filter(pk=followed.version_id).values_list("number", flat=True)
        if followed
        else []
    )
    floor = version_key(current[0]) if current else ()
    return sorted(
        (version for version in active if version.order_key > floor),
        key=lambda v: v.order_key,
        reverse=True,
    )


class ReconsentForm(forms.Form):
    version = forms.ModelChoiceField(
        label=_("Version"), queryset=ProtocolVersion.objects.none(), empty_label=None
    )
    on = forms.DateField(label=_("Re-consented on"), widget=IsoDateInput())
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.TextInput(attrs={"size": 50})
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = ProtocolVersion.objects.filter(
            pk__in=[version.pk for version in choices]
        )


def may_reconsent(user) -> bool:
    return user.has_perm(RECONSENT)


class ReconsentPages:
    """Mixed into the participant admin (``SiteScopedAdmin``)."""

    def reconsent_urls(self):
        return [
            path(
                "<path:object_id>/reconsent/",
                self.admin_site.admin_view(self.reconsent_view),
                name="participant_reconsent",
            )
        ]

    def reconsent_view(self, request, object_id):
        participant = self.in_scope_or_404(request, object_id)
        if not may_reconsent(request.user):
            raise PermissionDenied
        followed = Followed.of(participant)
        choices = reconsent_versions(participant, followed)
        preview = None
        if request.method == "POST":
            form = ReconsentForm(request.POST, choices=choices)
            if form.is_valid():
                version, on = form.cleaned_data["version"], form.cleaned_data["on"]
                reason = form.cleaned_data["reason"]
                key = f"{version.pk}|{on.isoformat()}|{reason}"
                confirmed = request.POST.get("confirm") == "1" and (
                    request.POST.get("previewed") == key
                )
                try:
                    changes = versions.record_reconsent(
                        participant,
                        version,
                        on=on,
                        by=request.user,
                        reason=reason,
                        dry_run=not confirmed,
                    )
                except ValidationError as error:
                    errors_onto_form(form, error)
                else:
                    if changes.applied:
                        messages.success(
                            request,
                            gettext("%(participant)s follows version %(number)s from %(day)s.")
                            % {
                                "participant": participant.subject_id,
                                "number": version.number,
                                "day": on.isoformat(),
                            },
                        )
                        return self._back(participant, "protocol-version")
                    preview = {"changes": changes, "key": key}
        else:
            form = ReconsentForm(
                choices=choices,
                initial={
                    "on": participant.site.today(),
                    "version": choices[0].pk if choices else None,
                },
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Record re-consent of %(subject_id)s")
            % {"subject_id": participant.subject_id},
            "participant": participant,
            "form": form,
            "choices": choices,
            "preview": preview,
            "participant_url": reverse(
                "admin:participants_participant_change", args=[participant.pk]
            ),
        }
        return TemplateResponse(request, "admin/scheduling/participant/reconsent.html", context)
