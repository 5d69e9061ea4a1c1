/*
 * The admin's "Today" and "Now" shortcuts (DateTimeShortcuts.js) read the page's offset from UTC
 * on <body data-admin-utc-offset>: the offset of the zone the request was read in. On a form
 * whose site is chosen in a <select data-site-zone> (participants.admin.widgets.SiteSelect),
 * the chosen site's offset is used instead, so "Today" is that site's day for a user whose sites
 * keep several zones.
 */
'use strict';
{
    function followChosenSite(select) {
        const option = select.options[select.selectedIndex];
        if (option && option.dataset.utcOffset !== undefined) {
            document.body.dataset.adminUtcOffset = option.dataset.utcOffset;
        }
    }
    window.addEventListener('load', function() {
        for (const select of document.querySelectorAll('select[data-site-zone]')) {
            followChosenSite(select);
            select.addEventListener('change', function() { followChosenSite(select); });
        }
    });
}
