// Row lists of the dossier (members, expenses, resources) and of other forms marked ``data-row-form`` (a
// decision's payment tranches): « Ajouter » builds the new row in place from the
// list's <template> (no page reload), moves the focus to its first field and announces it. Without
// JavaScript the same button posts the form and the server answers with the empty row.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave], form[data-row-form]");
  if (!form) { return; }

  function addRow(name) {
    var list = form.querySelector('[data-rows="' + name + '"]');
    var template = form.querySelector('template[data-row-template="' + name + '"]');
    if (!list || !template) { return false; }
    var index = parseInt(list.getAttribute("data-next-index"), 10) || 0;
    var number = list.querySelectorAll("[data-row]").length + 1;
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.split("__i__").join(String(index)).split("__n__").join(String(number));
    var row = holder.querySelector("[data-row]");
    if (!row) { return false; }
    var empty = list.querySelector("[data-rows-empty]");
    if (empty) { empty.parentNode.removeChild(empty); }
    list.appendChild(row);
    list.setAttribute("data-next-index", String(index + 1));
    var status = document.getElementById(name + "-rows-status");
    if (status) { status.textContent = (list.getAttribute("data-added") || "").split("__n__").join(String(number)); }
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
    return true;
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-add-row]") : null;
    if (!button || button.disabled) { return; }
    if (addRow(button.getAttribute("data-add-row"))) { event.preventDefault(); }
  });
})();
