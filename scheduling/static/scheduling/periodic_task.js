// django-celery-beat's periodic task page: under the crontab field, say in words when the
// chosen crontab runs. Its own template does this in an inline script, which the
// Content-Security-Policy refuses; this is the same, as a file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const data = document.getElementById("readable-crontabs");
  const select = document.getElementById("id_crontab");
  const help = document.querySelector(".field-crontab .help");
  const translation = document.querySelector(".field-crontab_translation");
  if (translation) {
    translation.style.display = "none";
  }
  if (!data || !select || !help) {
    return;
  }
  const readable = JSON.parse(data.textContent);
  const reading = document.createElement("div");
  reading.className = "crontab-reading";
  help.appendChild(reading);
  function show() {
    const text = readable[select.value];
    reading.textContent = text ? "Translation: " + text : "";
  }
  select.addEventListener("change", show);
  show();
});
