"""What leaves the system in another tool's format (issue 25): iCalendar (a visit's event, as
reminders attach it and calendar feeds list it), CDISC SDTM datasets (CSV and SAS transport)
and FHIR R4 resources. Each reads the timeline; only the feeds write, their own records
(``feeds``). Above the timeline and replies; below mail, whose reminders attach a visit's
event."""
