"""``{% load local_times %}``: times and days as staff read them, written by
``participants.local_times`` (their one home) for pages, the digest and exports alike.

- ``{{ reminder.due_at|site_time:participant.site }}``: "2026-11-22 09:00 PST";
- ``{{ fault_since|local_time }}``: in the request's zone, labelled ("… UTC" for a monitor of
  sites in several zones);
- ``{% site_clock visit.appointment_date visit.booked_time site %}``: a booked time with the
  zone in force that day, "09:30 PST";
- ``{{ visit.appointment_date|planning_day }}``: "Thu 2026-12-10".
"""

from django import template

from participants import local_times

register = template.Library()

register.filter("site_time", local_times.site_time)
register.filter("local_time", local_times.local_time)
register.filter("planning_day", local_times.planning_day)
register.simple_tag(local_times.site_clock, name="site_clock")
