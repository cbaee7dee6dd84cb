// Progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // The page's language: texts given by templates/base.html (meta ptce-texts, i18n.JS_TEXTS), else French.
  var TEXTS = (function () {
    var el = document.querySelector('meta[name="ptce-texts"]');
    try { return el ? JSON.parse(el.getAttribute("content")) : {}; } catch (e) { return {}; }
  })();
  function t(text, values) {
    var out = TEXTS[text] || text;
    Object.keys(values || {}).forEach(function (k) { out = out.split("%(" + k + ")s").join(String(values[k])); });
    return out.split("%%").join("%");
  }
  // The one translation helper of the page scripts (loaded after this file, all deferred).
  window.PTCE = {t: t};
  var NUMBER_LOCALE = document.documentElement.lang === "en" ? "en-GB" : "fr-FR";
  // Live character counters for textareas with data-maxlength.
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var field = document.getElementById(counter.getAttribute("data-counter-for"));
    if (!field) { return; }
    var max = parseInt(field.getAttribute("data-maxlength"), 10);
    var update = function () {
      var left = max - field.value.length;
      counter.textContent = left >= 0
        ? t("%(count)s / %(max)s caractères", {count: field.value.length, max: max})
        : t("%(count)s / %(max)s caractères — %(over)s de trop", {count: field.value.length, max: max, over: -left});
      counter.classList.toggle("ptce-counter--over", left < 0);
    };
    field.addEventListener("input", update);
    update();
  });

  // An explicit logout removes the unsaved drafts this browser keeps for its sections (static/dossier.js):
  // no personal data left behind on a shared computer.
  document.querySelectorAll("form[data-clear-drafts]").forEach(function (logout) {
    logout.addEventListener("submit", function () {
      try {
        var store = window.localStorage;
        for (var i = store.length - 1; i >= 0; i -= 1) {
          var key = store.key(i);
          if (key && key.indexOf("ptce-draft:") === 0) { store.removeItem(key); }
        }
      } catch (e) { /* storage disabled: nothing kept */ }
    });
  });

  // Tables marked data-stack (templates/_dsfr/components.html, ``table(..., stack=True)``): each cell learns
  // its column's heading, so that on a phone the rows are shown as stacked blocks, every value labelled,
  // instead of columns cut off on the right (static/ptce.css). Without JavaScript, DSFR's scrolling table.
  document.querySelectorAll(".fr-table[data-stack] table").forEach(function (table) {
    var heads = table.querySelectorAll("thead tr:first-child th");
    if (!heads.length) { return; }
    var labels = Array.prototype.map.call(heads, function (th) {
      // A heading that holds a control (the « select all » box) says its label for the stacked rows.
      if (th.hasAttribute("data-stack-label")) { return th.getAttribute("data-stack-label"); }
      return th.textContent.replace(/[▲▼]/g, "").replace(/\s+/g, " ").trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.children, function (cell) {
        if (cell.tagName === "TD" && labels[column] && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", labels[column]);
        }
        column += cell.colSpan || 1;
      });
    });
    table.closest(".fr-table").classList.add("ptce-table--stacked");
  });
  // A button copying a field's value (data-copy: the field's id), hidden without JavaScript or clipboard
  // access: the field stays there, its text to select by hand; "<id>-copied" (a live region) says it is done.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var done = document.getElementById(button.getAttribute("data-copy") + "-copied");
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (done) { done.textContent = done.getAttribute("data-done"); }
      });
    });
  });
})();
