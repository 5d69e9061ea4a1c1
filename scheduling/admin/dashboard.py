"""The dashboard: the admin index is the site workspace (``admin/workspace_index.html``)."""

from django.contrib import admin

admin.site.index_template = "admin/workspace_index.html"
# The dashboard and the breadcrumbs lead everywhere; without the navigation sidebar the
# participant list, the visits table and the protocol plan fit a 1280 px screen.
admin.site.enable_nav_sidebar = False
