"""What the staff workspace reads and draws, a module per page: the participant list
(``participant_list``), the participant page (``participant_page``), the dashboard
(``dashboard``) and the site calendar (``calendar_reads``, drawn as month and week grids by
``month_calendar``), a participant's audit trail (``audit_trail``); and the timeline chart's
geometry (``timeline_chart``; the template scheduling/timeline_chart.html draws it). Below the
admin (scheduling/admin/), which shows them."""
