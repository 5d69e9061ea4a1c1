"""manage.py close_site SITE --from YYYY-MM-DD [--to YYYY-MM-DD] --reason TEXT --by USERNAME.

It lives in the scheduling app, not beside import_sites, because what it reports (appointments
moved, bookings to rebook) is the schedule's: ``participants`` never imports ``scheduling``.
"""

from django.core.exceptions import ValidationError

from participants.cli import (
    RECORDED_VIA,
    InputError,
    StaffCommand,
    add_by_option,
    date_option,
    site_named,
    staff_user_named,
    utf8_argument,
)
from participants.sites import add_closure
from scheduling.models import AppointmentFlag
from scheduling.timeline.selectors import open_appointments


class Command(StaffCommand):
    help = (
        "Close a site's clinic --from a day --to a day (inclusive; one day without --to) for "
        "--reason. Proposed appointments on those days move to the nearest open day of their "
        "window; a booking on them stays and is flagged to rebook."
    )

    def add_arguments(self, parser):
        parser.add_argument("site", help="Site code.")
        parser.add_argument(
            "--from", dest="start", metavar="YYYY-MM-DD", required=True, help="First day."
        )
        parser.add_argument(
            "--to", dest="end", metavar="YYYY-MM-DD", help="Last day (default: --from)."
        )
        parser.add_argument("--reason", required=True, help="e.g. inspection.")
        add_by_option(parser)

    def handle(self, *args, site, start, end, reason, by, **options):
        first = date_option(start, "from")
        last = date_option(end, "to") if end is not None else None
        reason = utf8_argument(reason, "reason")  # the closure refuses a line break itself
        chosen = site_named(site)
        user = staff_user_named(by, may=["participants.add_siteclosure"], at=[chosen])
        before = open_appointments(chosen)
        try:
            closure = add_closure(
                chosen, start=first, end=last, reason=reason, by=user, via=RECORDED_VIA
            )
        except ValidationError as error:
            raise InputError.from_validation(by_option(error, to_given=end is not None)) from None
        after = open_appointments(chosen)
        moved = sum(1 for pk, (day, _) in after.items() if pk in before and before[pk][0] != day)
        newly = [flag for pk, (_, flag) in after.items() if pk in before and before[pk][1] != flag]
        counts = (
            f"{moved} appointment(s) moved, "
            f"{newly.count(AppointmentFlag.REBOOK)} booking(s) to rebook"
        )
        if no_open_day := newly.count(AppointmentFlag.NO_OPEN_DAY):
            counts += f", {no_open_day} with no open day in window"
        self.stdout.write(
            f"{chosen.code} closed {closure.start.isoformat()} to {closure.end.isoformat()}: "
            f"{closure.reason}; {counts}."
        )


def by_option(error: ValidationError, *, to_given: bool) -> ValidationError:
    """The closure's errors named by this command's options: ``start`` is --from, ``end`` is
    --to, or --from again when --to was left out (the closure is then that one day)."""
    option_of = {"start": "from", "end": "to" if to_given else "from"}
    messages: dict[str, list[str]] = {}
    for field, field_messages in error.message_dict.items():
        named = messages.setdefault(option_of.get(field, field), [])
        named.extend(message for message in field_messages if message not in named)
    return ValidationError(messages)
