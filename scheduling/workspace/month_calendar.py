"""The site calendar: a month grid and a week list of appointments, each with its window,
booked time and status; every entry links to the participant's page. Closed days say why, and
each day shows the load of each resource (booked, plus proposed, against the site's
capacity), so that full and overbooked days stand out."""

import calendar
import datetime

from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import date_format
from django.utils.translation import gettext

from scheduling.timeline.site_calendars import clinic_calendar
from scheduling.workspace import calendar_reads

# Months and weeks the calendar pages through; outside them (a typed URL, say) it shows today.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def _month(value: str, today: datetime.date) -> datetime.date:
    try:
        year, month = (int(part) for part in value.split("-"))
        month_start = datetime.date(year, month, 1)
    except (ValueError, TypeError, OverflowError):
        return today.replace(day=1)
    return month_start if FIRST_YEAR <= year <= LAST_YEAR else today.replace(day=1)


def _week_start(value: str, today: datetime.date) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(value)
    except (ValueError, TypeError, OverflowError):
        day = today
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        day = today
    return day - datetime.timedelta(days=day.weekday())


def calendar_context(request, sites) -> dict:
    sites = list(sites)
    if not sites:
        raise Http404("You are not assigned to any site.")
    code = request.GET.get("site") or sites[0].code
    site = next((s for s in sites if s.code == code), None)
    if site is None:
        raise Http404(f"No site {code} among your sites.")
    today = site.today()
    month = _month(request.GET.get("month", ""), today)
    week = _week_start(request.GET.get("week", ""), today)
    grid = calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = grid[0][0], grid[-1][-1]
    week_days = [week + datetime.timedelta(days=n) for n in range(7)]
    shown = (min(first, week_days[0]), max(last, week_days[-1]))
    visits = calendar_reads.calendar_visits(site, *shown)
    by_day: dict[datetime.date, list] = {}
    for visit in visits:
        by_day.setdefault(visit.day, []).append(visit)
    totals, loads = calendar_reads.day_counts(site, *shown)
    clinic = clinic_calendar(site)

    def day_info(day: datetime.date) -> dict:
        day_loads = loads.get(day, [])
        closed = clinic.closed_on(day)
        return {
            "date": day,
            "visits": by_day.get(day, []),
            "more": totals.get(day, 0) - len(by_day.get(day, [])),
            "closed": closed.label if closed else "",
            "closed_reason": closed.reason if closed else "",
            "loads": day_loads,
            "overbooked": any(load.overbooked for load in day_loads),
            "full": any(load.full for load in day_loads),
        }

    previous_month = (month - datetime.timedelta(days=1)).replace(day=1)
    next_month = (month + datetime.timedelta(days=32)).replace(day=1)
    return {
        "title": gettext("Calendar of %(site)s, %(month)s")
        % {"site": site.code, "month": date_format(month, "F Y")},
        "site": site,
        "sites": sites,
        "today": today,
        "month": month,
        "previous_month": f"{previous_month:%Y-%m}",
        "next_month": f"{next_month:%Y-%m}",
        "weeks": [
            [{**day_info(day), "in_month": day.month == month.month} for day in week_row]
            for week_row in grid
        ],
        "week_start": week,
        "previous_week": (week - datetime.timedelta(days=7)).isoformat(),
        "next_week": (week + datetime.timedelta(days=7)).isoformat(),
        "week_days": [day_info(day) for day in week_days],
        "week_visit_count": sum(totals.get(day, 0) for day in week_days),
        "weekday_names": [str(WEEKDAYS_ABBR[n]).capitalize() for n in range(7)],
    }


def render_calendar(request, context) -> TemplateResponse:
    return TemplateResponse(request, "admin/scheduling/calendar.html", context)
