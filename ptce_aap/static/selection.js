// The instruction list's "select all on page" box: shown only with JavaScript (without it, each row's box
// still works), it ticks or unticks every row box of the page; it reads "mixed" when only some are ticked.
(function () {
  "use strict";
  var all = document.querySelector("[data-select-all]");
  if (!all) { return; }
  var name = all.getAttribute("data-select-all");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[type=checkbox][name='" + name + "']"));
  var label = document.querySelector("label[for='" + all.id + "']");
  var fallback = document.querySelector("[data-select-all-fallback]");
  all.hidden = false;
  if (label) { label.hidden = false; }
  if (fallback) { fallback.hidden = true; }
  // The box belongs to no form field list: it must not be submitted.
  all.removeAttribute("name");

  function sync() {
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    all.checked = ticked > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  all.addEventListener("change", function () {
    boxes.forEach(function (b) { b.checked = all.checked; });
    sync();
  });
  boxes.forEach(function (b) { b.addEventListener("change", sync); });
  sync();
}());
