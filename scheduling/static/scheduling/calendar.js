// The calendar's site menu shows the chosen site at once (no inline handler: the
// Content-Security-Policy allows scripts from this site's files only).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const select = document.getElementById("calendar-site");
  if (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  }
});
