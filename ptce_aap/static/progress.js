// Progress of a background job (admin "taches" page): polls the JSON endpoint named by
// data-progress-url every second and updates the <progress> bar and texts, until the job is done or
// failed. Without JavaScript the page shows the state at load time and an "Actualiser" link.
// JSON: {"status": "queued|running|done|failed", "status_label", "done", "total", "message"}.
(function () {
  "use strict";
  var root = document.querySelector("[data-progress-url]");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-progress-url");
  var bar = root.querySelector("progress");
  var doneEl = root.querySelector("[data-progress-done]");
  var totalEl = root.querySelector("[data-progress-total]");
  var messageEl = root.querySelector("[data-progress-message]");
  var statusEl = root.querySelector("[data-progress-status]");
  var refreshEl = root.querySelector("[data-progress-refresh]");
  var BADGES = {queued: "info", running: "info", done: "success", failed: "error"};
  var INTERVAL = 1000;
  var failures = 0;

  function render(data) {
    var total = Math.max(0, Number(data.total) || 0);
    var done = Math.min(Math.max(0, Number(data.done) || 0), total || Infinity);
    var finished = data.status === "done" || data.status === "failed";
    if (bar) {
      bar.max = total || 1;
      bar.value = total ? done : (finished ? 1 : 0);
      bar.textContent = done + " / " + total;
    }
    if (doneEl) { doneEl.textContent = String(done); }
    if (totalEl) { totalEl.textContent = String(total); }
    if (messageEl && typeof data.message === "string") { messageEl.textContent = data.message; }
    if (statusEl && data.status_label) {
      var badge = document.createElement("span");
      badge.className = "fr-badge fr-badge--" + (BADGES[data.status] || "info") + " fr-badge--sm";
      badge.textContent = data.status_label;
      statusEl.replaceChildren(badge);
    }
    if (refreshEl) { refreshEl.hidden = finished; }
    document.querySelectorAll("[data-progress-done-only]").forEach(function (el) {
      el.hidden = data.status !== "done";
    });
    return finished;
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (!render(data)) { window.setTimeout(poll, INTERVAL); }
      })
      .catch(function () {
        // A lost connection or a restarting server: keep trying, more slowly, and leave the refresh link.
        failures += 1;
        if (refreshEl) { refreshEl.hidden = false; }
        window.setTimeout(poll, Math.min(INTERVAL * Math.pow(2, failures), 30000));
      });
  }

  if (refreshEl) { refreshEl.hidden = true; }
  window.setTimeout(poll, INTERVAL);
})();
