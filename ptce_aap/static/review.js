// Scoring form: the running weighted total as the reviewer scores (autosave is static/dossier.js).
// Same integer formula as the server (ptce_aap/domain/scores.py, rounded_total): on a scale of 100, in
// tenths rounded half up, (2·num·1000 + den) // (2·den) with num = Σ weight·score and den = Σ weight·max;
// a criterion not yet scored counts 0 and is announced.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  var output = document.getElementById("running-total");
  if (!form || !output) { return; }
  var t = window.PTCE.t;  // the page's language (static/ptce.js, loaded first)
  var DECIMAL = document.documentElement.lang === "en" ? "." : ",";
  var totalEl = output.querySelector("[data-total]"), missingEl = output.querySelector("[data-missing]");

  function update() {
    var num = 0, den = 0, missing = 0;
    form.querySelectorAll("[data-criterion]").forEach(function (block) {
      var weight = parseInt(block.getAttribute("data-weight"), 10);
      var max = parseInt(block.getAttribute("data-max"), 10);
      var checked = block.querySelector("input[type=radio]:checked");
      den += weight * max;
      if (checked) { num += weight * parseInt(checked.value, 10); } else { missing += 1; }
    });
    if (!den) { return; }
    var tenths = Math.floor((2 * num * 1000 + den) / (2 * den));
    totalEl.textContent = Math.floor(tenths / 10) + (tenths % 10 ? DECIMAL + (tenths % 10) : "");
    missingEl.textContent = !missing ? "" : missing > 1 ? t(" (%(count)s critères non notés)", {count: missing})
      : t(" (%(count)s critère non noté)", {count: missing});
  }
  form.addEventListener("change", update);
  update();
})();
