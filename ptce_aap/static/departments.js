// The department picker of the « Identité » section (templates/applicants/_department_picker.html): a search
// box filtering the checkboxes by name or number, and a switch limiting them to the chosen region. Without
// JavaScript every department is shown, grouped by region. Ticked departments always stay shown; a region
// with nothing to show is hidden, and « Aucun département ne correspond » is said (role=status) when nothing
// matches.
(function () {
  "use strict";
  var picker = document.querySelector("[data-department-picker]");
  if (!picker) { return; }
  var tools = picker.querySelector("[data-js-only]");
  var search = picker.querySelector("input[type=search]");
  var regionOnly = document.getElementById(picker.id + "-region-only");
  var status = document.getElementById(picker.id + "-status");
  var selected = document.getElementById(picker.id + "-selected");
  var regionSelect = document.getElementById("region_code");
  var groups = Array.prototype.slice.call(picker.querySelectorAll("[data-region]"));
  var timer = null;

  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[-'’\s]+/g, " ")
      .toLowerCase().trim();
  }

  function apply() {
    var query = fold(search.value);
    var region = regionSelect ? regionSelect.value : "";
    var limit = regionOnly.checked && region !== "";
    var shown = 0;
    groups.forEach(function (group) {
      var visibleInGroup = 0;
      var inRegion = !limit || group.getAttribute("data-region") === region;
      group.querySelectorAll(".ptce-departments__item").forEach(function (item) {
        var box = item.querySelector("input[type=checkbox]");
        var text = fold(item.getAttribute("data-search"));
        var matches = inRegion && (!query || text.indexOf(query) !== -1 || box.value.toLowerCase() === query);
        var visible = matches || box.checked;
        item.hidden = !visible;
        if (visible) { visibleInGroup += 1; }
        if (matches) { shown += 1; }
      });
      group.hidden = visibleInGroup === 0;
    });
    if (query || limit) {
      status.textContent = shown === 0 ? status.getAttribute("data-none")
        : (shown === 1 ? status.getAttribute("data-one")
          : status.getAttribute("data-many").replace("{n}", String(shown)));
    } else {
      status.textContent = "";
    }
  }

  function summarise() {
    var labels = [];
    picker.querySelectorAll("input[type=checkbox][name]:checked").forEach(function (box) {
      var label = picker.querySelector("label[for='" + box.id + "']");
      labels.push(label ? label.textContent.trim() : box.value);
    });
    selected.textContent = labels.length ? selected.getAttribute("data-label") + " " + labels.join(", ")
      : selected.getAttribute("data-empty");
  }

  tools.hidden = false;
  regionOnly.checked = !!(regionSelect && regionSelect.value);
  search.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(apply, 150);
  });
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); apply(); }  // never submits the section
  });
  regionOnly.addEventListener("change", apply);
  // The chosen region first, as the hint says, also when it is changed on the page (the server orders the
  // page it sends the same way); the others keep their order (French alphabetical, from the server).
  var container = document.getElementById(picker.id + "-groups");
  function chosenFirst() {
    var region = regionSelect ? regionSelect.value : "";
    var ordered = groups.slice().sort(function (a, b) {
      return (a.getAttribute("data-region") === region ? 0 : 1) - (b.getAttribute("data-region") === region ? 0 : 1)
        || groups.indexOf(a) - groups.indexOf(b);
    });
    ordered.forEach(function (group) { container.appendChild(group); });
  }
  groups.sort(function (a, b) {  // the server's order without its chosen region, to restore on a change
    return Number(a.getAttribute("data-order")) - Number(b.getAttribute("data-order"));
  });
  if (regionSelect) {
    regionSelect.addEventListener("change", function () {
      if (regionSelect.value) { regionOnly.checked = true; }
      chosenFirst();
      apply();
    });
  }
  picker.addEventListener("change", function (event) {
    if (event.target.name) { summarise(); }
  });
  chosenFirst();
  apply();
}());
