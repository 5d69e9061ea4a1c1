"""Protocol versions: a protocol's numbered plans, where each is in force, and who follows
which (docs/amendments.md)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from participants.models import Participant, Protocol, Site


class ProtocolVersion(models.Model):
    """A numbered version of a protocol's plan (``1.0``, ``2.0``…): its phases, visit
    definitions and participant reminder rules. A draft is edited; a released version never
    is again (a change is a new draft, copied from the latest). docs/amendments.md."""

    protocol = models.ForeignKey(
        Protocol, on_delete=models.CASCADE, related_name="versions", verbose_name=_("protocol")
    )
    number = models.CharField(
        max_length=10,
        validators=[
            RegexValidator(
                r"^[0-9]{1,3}\.[0-9]{1,3}$",
                _("Write a version number as two whole numbers with a dot: 2.0, 2.1."),
            )
        ],
        verbose_name=_("version"),
    )
    approved_on = models.DateField(
        null=True,
        blank=True,
        help_text=_("The day the ethics committee approved it (needed to release it)."),
        verbose_name=_("approved on"),
    )
    note = models.TextField(blank=True, verbose_name=_("note"))
    needs_reconsent = models.BooleanField(
        _("needs re-consent"),
        default=False,
        help_text=_(
            "A participant takes it up only when their re-consent is recorded; otherwise "
            "every active participant of a site takes it up on the site's activation date."
        ),
    )
    released_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("released at")
    )
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("released by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("protocol version")
        verbose_name_plural = _("protocol versions")
        ordering = ["protocol", "id"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "number"], name="version_number_unique"),
        ]

    def __str__(self):
        return gettext("version %(number)s") % {"number": self.number}

    @property
    def is_released(self) -> bool:
        return self.released_at is not None

    @property
    def order_key(self) -> tuple[int, ...]:
        return version_key(self.number)


def version_key(number: str) -> tuple[int, ...]:
    """``2.10`` after ``2.9``: a version number as the numbers it is made of."""
    return tuple(int(part) if part.isdigit() else 0 for part in number.split("."))


class VersionActivation(models.Model):
    """A released version put in force at one site on a date, after local approval."""

    version = models.ForeignKey(
        ProtocolVersion,
        on_delete=models.PROTECT,
        related_name="activations",
        verbose_name=_("version"),
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="version_activations", verbose_name=_("site")
    )
    activated_on = models.DateField(verbose_name=_("activated on"))
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("activated by"),
    )
    reason = models.TextField(verbose_name=_("reason"))
    recorded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("version activation")
        verbose_name_plural = _("version activations")
        ordering = ["site", "activated_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "site"], name="one_activation_per_site"),
        ]

    def __str__(self):
        return f"{self.version.number} @ {self.site.code} {self.activated_on.isoformat()}"


class TakeUp(models.TextChoices):
    START = "start", _("Started on it")
    ACTIVATION = "activation", _("Site activation")
    RECONSENT = "reconsent", _("Re-consent")


class VersionTakeUp(models.Model):
    """From ``since``, ``participant`` follows ``version``: the version they started on, one
    their site activated, or one they re-consented to. The latest is the one followed; rows
    are never edited (who, when, why)."""

    participant = models.ForeignKey(
        Participant,
        on_delete=models.CASCADE,
        related_name="version_take_ups",
        verbose_name=_("participant"),
    )
    version = models.ForeignKey(
        ProtocolVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("version")
    )
    previous = models.ForeignKey(
        ProtocolVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("previous version"),
    )
    since = models.DateField(verbose_name=_("since"))
    kind = models.CharField(max_length=12, choices=TakeUp.choices, verbose_name=_("how"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    reason = models.TextField(blank=True, verbose_name=_("reason"))
    recorded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("recorded at"))

    class Meta:
        verbose_name = _("version take-up")
        verbose_name_plural = _("version take-ups")
        ordering = ["participant", "since", "id"]
        indexes = [models.Index(fields=["participant", "-since", "-id"], name="take_up_latest")]

    def __str__(self):
        return f"{self.version.number} since {self.since.isoformat()}"


def version_being_drafted(protocol_id: int) -> "ProtocolVersion":
    """The version a plan row written without one belongs to: the protocol's draft, or its
    first version (a draft ``1.0``) when it has none yet. A protocol whose versions are all
    released takes no such row: a change is a new draft (docs/amendments.md)."""
    versions = ProtocolVersion.objects.filter(protocol_id=protocol_id)
    draft = versions.filter(released_at__isnull=True).order_by("-id").first()
    if draft is not None:
        return draft
    if versions.exists():
        raise ValidationError(
            gettext(
                "Every version of this protocol is released and is never edited again: "
                "make a new draft version to change its plan."
            )
        )
    return ProtocolVersion.objects.create(protocol_id=protocol_id, number="1.0")


def refuse_released(version_id: int | None) -> None:
    """A released version is never edited again (docs/amendments.md): refused at the model,
    whatever writes (admin, import, shell)."""
    if version_id is None:
        return
    released = (
        ProtocolVersion.objects.filter(pk=version_id, released_at__isnull=False)
        .values_list("number", flat=True)
        .first()
    )
    if released is not None:
        raise ValidationError(
            gettext(
                "Version %(number)s is released and is never edited again: make a new draft "
                "version to change its plan."
            )
            % {"number": released}
        )
