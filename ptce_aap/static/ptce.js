// Progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Live character counters for textareas with data-maxlength.
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var field = document.getElementById(counter.getAttribute("data-counter-for"));
    if (!field) { return; }
    var max = parseInt(field.getAttribute("data-maxlength"), 10);
    var update = function () {
      var left = max - field.value.length;
      counter.textContent = left >= 0
        ? field.value.length + " / " + max + " caractères"
        : field.value.length + " / " + max + " caractères — " + (-left) + " de trop";
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
})();
