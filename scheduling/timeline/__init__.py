"""A participant's timeline, written and read: the protocol's plan as the schedule reads it
(``plans``); the schedule built from it and kept in step (``schedules``: it reads once, asks
``rules.schedule`` once, writes the difference); what a transition would close (``transitions``);
recording one visit (``visits``); the site's clinic calendar and capacity as the database holds
them (``site_calendars``); booking (``appointments``); protocol versions (``versions``); the
reminder rows kept in step with the schedule (``reminders``); reads (``selectors``) and bulk
writes (``bulk_insert``). Below the replies, mail and the workspace; above the pure rules."""
