// Live refresh: the console's SSE stream says which case changed; every live region on the
// page that shows that case (or any case) asks htmx to re-fetch itself. A "notify" message
// rings the bell: the bell (and the notifications list) re-fetch their unread count. No inline
// script, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector("[data-live], [data-bell]")) { return; }
  var dot = document.getElementById("live-status");
  var source = new EventSource("/events");
  source.onopen = function () { if (dot) { dot.classList.add("on"); } };
  source.onerror = function () { if (dot) { dot.classList.remove("on"); } };
  source.addEventListener("change", function (ev) {
    var change;
    try { change = JSON.parse(ev.data); } catch (e) { return; }
    var key = change.process + "/" + change.case_id;
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var wanted = el.getAttribute("data-live-case");
      if (wanted && wanted !== key) { return; }
      if (el.contains(document.activeElement) && /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) { return; }
      if (window.htmx) { window.htmx.trigger(el, "live"); }
    });
  });
  source.addEventListener("notify", function () {
    document.querySelectorAll("[data-bell]").forEach(function (el) {
      if (el.contains(document.activeElement) && /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) { return; }
      if (window.htmx) { window.htmx.trigger(el, "live"); }
    });
  });
})();
