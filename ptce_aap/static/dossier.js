// Dossier sections: background autosave while typing, live totals of the financing plan.
// Without JavaScript the "Enregistrer" button does the same work.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var versionField = form.querySelector("input[name=version]");
  var timer = null, inFlight = false, pending = false, stopped = false;

  function say(text) { if (status) { status.textContent = text; } }

  function save() {
    if (stopped) { return; }
    if (inFlight) { pending = true; return; }
    inFlight = true;
    say("Enregistrement en cours…");
    fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"X-Autosave": "1", "Accept": "application/json"}
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        return {ok: false, data: {message: "L'enregistrement automatique est interrompu : vos saisies sont "
          + "toujours dans la page. Cliquez sur « Enregistrer »."}};
      }
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (result) {
      if (result.ok && result.data.ok) {
        versionField.value = result.data.version;
        say(result.data.saved_at);
      } else {
        stopped = true;
        say(result.data.message || "L'enregistrement automatique a échoué : cliquez sur « Enregistrer ».");
      }
    }).catch(function () {
      say("Connexion perdue : vos saisies sont toujours dans la page. Cliquez sur « Enregistrer » dès que possible.");
    }).finally(function () {
      inFlight = false;
      if (pending) { pending = false; save(); }
    });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(save, 1500);
  });
  form.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  });
  form.addEventListener("submit", function () { clearTimeout(timer); stopped = true; });

  // Live totals of the budget section.
  function parse(text) {
    var cleaned = (text || "").replace(/[\s\u00a0\u202f€]/g, "").replace(",", ".");
    var value = parseFloat(cleaned);
    return isNaN(value) ? 0 : value;
  }
  function fmt(value) {
    return value.toLocaleString("fr-FR", {minimumFractionDigits: 0, maximumFractionDigits: 2}) + " €";
  }
  function updateTotals() {
    var sums = {expense: 0, resource: 0};
    form.querySelectorAll("[data-amount]").forEach(function (input) {
      sums[input.getAttribute("data-amount")] += parse(input.value);
    });
    var e = document.getElementById("total-expense"), r = document.getElementById("total-resource");
    var balance = document.getElementById("balance");
    if (e) { e.textContent = fmt(sums.expense); }
    if (r) { r.textContent = fmt(sums.resource); }
    if (balance) {
      var gap = Math.round((sums.resource - sums.expense) * 100) / 100;
      balance.textContent = gap === 0 ? "Le plan de financement est équilibré."
        : "Écart entre ressources et dépenses : " + fmt(gap) + ".";
    }
  }
  if (form.querySelector("[data-amount]")) {
    form.addEventListener("input", function (event) {
      if (event.target.hasAttribute("data-amount")) { updateTotals(); }
    });
  }
})();
