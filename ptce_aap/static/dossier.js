// Dossier sections: background autosave while typing, live totals of the financing plan.
// Without JavaScript the "Enregistrer" button does the same work.
(function () {
  "use strict";
  var t = window.PTCE.t;  // the page's language (static/ptce.js, loaded first)
  var LANG = document.documentElement.lang === "en" ? "en" : "fr";  // amounts written as the server writes them
  var form = document.querySelector("form[data-autosave]");
  if (!form) { return; }
  var status = document.getElementById("autosave-status");
  var versionField = form.querySelector("input[name=version]");
  var baseField = form.querySelector("input[name=base]");
  var timer = null, inFlight = false, pending = false, stopped = false, edits = 0, queuedSubmit = null;

  function say(text) { if (status) { status.textContent = text; } }

  // --- Never lose a word --------------------------------------------------------------------------------
  // What is typed is kept in this browser (localStorage, one entry per user + dossier + section holding each
  // field's value, with the version and base values it was typed on) until the server confirms the save:
  // it survives the end of the session (expiry, logout in another tab, expired form, server restart). Back
  // on the section after logging in again, the page puts it back and saves it through the normal path, so the
  // optimistic lock and the field-by-field merge apply (a newer saved version leads to the conflict screen).
  // Personal data: the entry is removed once the server confirms the save, and every draft is removed on an
  // explicit logout in this browser (static/ptce.js). A session that simply expires on a shared computer
  // leaves the unsaved text in this browser until its owner logs in again here.
  var draftKey = form.getAttribute("data-draft-key");
  var draftState = form.getAttribute("data-draft-state");
  var SKIP = {csrf_token: 1, version: 1, base: 1, force: 1, restored: 1, row_action: 1, then: 1};

  function storage() { try { return window.localStorage; } catch (e) { return null; } }
  function readDraft() {
    var store = storage();
    if (!store || !draftKey) { return null; }
    try { return JSON.parse(store.getItem(draftKey) || "null"); } catch (e) { return null; }
  }
  function writeDraft(flags) {
    var store = storage();
    if (!store || !draftKey) { return; }
    var draft = {fields: collect(), version: versionField ? versionField.value : "",
                 base: baseField ? baseField.value : "", at: Date.now()};
    Object.keys(flags || {}).forEach(function (k) { draft[k] = flags[k]; });
    try { store.setItem(draftKey, JSON.stringify(draft)); } catch (e) { /* full or disabled: the page still holds it */ }
  }
  function markDraft(flag) {
    var flags = {};
    flags[flag] = true;
    if (readDraft()) { writeDraft(flags); }
  }
  function dropDraft() { var store = storage(); if (store && draftKey) { store.removeItem(draftKey); } }
  function collect() {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (!SKIP[name] && typeof value === "string") { pairs.push([name, value]); }
    });
    return pairs;
  }
  function restore(pairs) {
    var byName = {}, seen = {};
    pairs.forEach(function (p) { (byName[p[0]] = byName[p[0]] || []).push(p[1]); });
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || SKIP[el.name] || el.type === "submit" || el.type === "button") { return; }
      var values = byName[el.name] || [];
      seen[el.name] = true;
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = values.indexOf(el.value) !== -1;
      } else if (el.tagName === "SELECT" && el.multiple) {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = values.indexOf(o.value) !== -1; });
      } else {
        el.value = values.length ? values[0] : "";
      }
    });
    Object.keys(byName).forEach(function (name) {  // rows the page does not show (yet): posted as they were
      if (seen[name]) { return; }
      byName[name].forEach(function (value) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = name; input.value = value;
        form.appendChild(input);
      });
    });
  }
  function hidden(name, value) {
    var input = form.querySelector("input[name=" + name + "]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden"; input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  (function settleDraft() {
    var draft = readDraft();
    if (!draft) { return; }
    if (draftState === "saved" && draft.submitted) { dropDraft(); return; }
    if (draftState === "unsaved") { writeDraft({failed: true}); return; }  // what was typed is on the page
    if (JSON.stringify(draft.fields) === JSON.stringify(collect())) { dropDraft(); return; }
    var interrupted = draft.failed || draft.submitted || Date.now() - draft.at > 10000;
    if (!interrupted) { return; }  // another tab may be saving it right now
    restore(draft.fields);
    if (draft.version && versionField) { versionField.value = draft.version; }
    if (draft.base && baseField) { baseField.value = draft.base; }
    var guard = draftKey + ":restored", session = null;
    try { session = window.sessionStorage; } catch (e) { session = null; }
    var lastTry = session ? parseInt(session.getItem(guard) || "0", 10) : 0;
    if (Date.now() - lastTry < 60000) {  // tried a moment ago: let the person decide
      say(t("Vos saisies non enregistrées ont été remises dans le formulaire : cliquez sur « Enregistrer »."));
      return;
    }
    if (session) { session.setItem(guard, String(Date.now())); }
    say(t("Vos saisies non enregistrées ont été remises dans le formulaire ; enregistrement en cours…"));
    hidden("restored", "1");
    writeDraft({version: draft.version, base: draft.base, submitted: true});
    HTMLFormElement.prototype.submit.call(form);
  })();

  function save() {
    if (stopped) { return; }
    if (inFlight) { pending = true; return; }
    inFlight = true;
    var sent = edits;
    say(t("Enregistrement en cours…"));
    fetch(form.getAttribute("data-autosave"), {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: {"X-Autosave": "1", "Accept": "application/json"}
    }).then(function (response) {
      if (response.status === 429) {  // too many saves in a minute (a script, not a person): pause, then again
        return {ok: false, paused: true, data: {}};
      }
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        return {ok: false, data: {message: t("L'enregistrement automatique est interrompu : vos saisies sont "
          + "conservées dans ce navigateur. Cliquez sur « Enregistrer ».")}};
      }
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    }).then(function (result) {
      if (result.paused) {
        writeDraft();
        say(t("Enregistrement automatique en pause quelques secondes : vos saisies sont conservées dans ce "
          + "navigateur."));
        clearTimeout(timer);
        timer = setTimeout(save, 20000);
      } else if (result.ok && result.data.ok) {
        versionField.value = result.data.version;
        if (baseField && result.data.base) { baseField.value = result.data.base; }
        if (sent === edits) { dropDraft(); } else { writeDraft(); }
        say(result.data.saved_at);
      } else {
        stopped = true;
        markDraft("failed");
        say(result.data.message || (result.data.error && result.data.error.message)
          || t("L'enregistrement automatique a échoué : cliquez sur « Enregistrer »."));
      }
    }).catch(function () {
      markDraft("failed");
      say(t("Connexion perdue : vos saisies sont conservées dans ce navigateur. Cliquez sur « Enregistrer » dès "
        + "que possible."));
    }).finally(function () {
      inFlight = false;
      if (queuedSubmit) {  // « Enregistrer » was pressed meanwhile: now, with the version this save got
        var submitter = queuedSubmit.submitter;
        queuedSubmit = null;
        if (submitter && form.requestSubmit) { form.requestSubmit(submitter); }
        else if (form.requestSubmit) { form.requestSubmit(); } else { HTMLFormElement.prototype.submit.call(form); }
        return;
      }
      if (pending) { pending = false; save(); }
    });
  }

  form.addEventListener("input", function () {
    edits += 1;
    writeDraft();
    clearTimeout(timer);
    timer = setTimeout(save, 1500);
  });
  form.addEventListener("change", function () {
    edits += 1;
    writeDraft();
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  });
  form.addEventListener("submit", function (event) {
    clearTimeout(timer);
    stopped = true;
    if (inFlight) {
      // An autosave is on its way: sent now, this form would carry the version before it and be taken for
      // someone else's edit (the conflict screen, against oneself). It is sent once the autosave is back.
      event.preventDefault();
      queuedSubmit = {submitter: event.submitter || null};
      return;
    }
    if (readDraft()) { writeDraft({submitted: true}); }
  });

  // Live totals of the budget section, read with the server's rules (static/amounts.js): an amount the server
  // would refuse (« 5.000 », « 1e3 », « -5 ») counts for nothing here either, and the text says so.
  function updateTotals() {
    var amounts = window.PtceAmounts;
    if (!amounts) { return; }
    var sums = {expense: 0, resource: 0}, uncounted = 0;
    form.querySelectorAll("[data-amount]").forEach(function (input) {
      var read = amounts.parseAmount(input.value);
      if (read.error) { uncounted += 1; } else if (read.cents !== null) { sums[input.getAttribute("data-amount")] += read.cents; }
    });
    var e = document.getElementById("total-expense"), r = document.getElementById("total-resource");
    var balance = document.getElementById("balance");
    if (e) { e.textContent = amounts.formatCents(sums.expense, LANG); }
    if (r) { r.textContent = amounts.formatCents(sums.resource, LANG); }
    if (balance) {
      var gap = sums.resource - sums.expense;
      var text = gap === 0 ? balance.getAttribute("data-balanced")
        : balance.getAttribute("data-gap").split("__gap__").join(amounts.formatCents(gap, LANG));
      if (uncounted) { text += " " + balance.getAttribute("data-uncounted").split("__n__").join(String(uncounted)); }
      balance.textContent = text;
    }
  }
  if (document.getElementById("balance")) {  // rows added in place have amounts too
    form.addEventListener("input", function (event) {
      if (event.target.hasAttribute("data-amount")) { updateTotals(); }
    });
  }

  // An amount's format error as soon as its field loses focus (the server's rules, static/amounts.js), not
  // only after saving; typing is never blocked, and the error goes as soon as what is typed reads right.
  // The messages, in the page's language, are on the form (data-amount-messages); the error sits under the
  // field as the server puts it (fr-error-text, aria-invalid, aria-describedby) and is announced.
  var amountMessages = null;
  try { amountMessages = JSON.parse(form.getAttribute("data-amount-messages") || "null"); } catch (e) { amountMessages = null; }
  var amountStatus = null;
  function announceAmount(text) {
    if (!amountStatus) {
      amountStatus = document.createElement("p");
      amountStatus.className = "fr-sr-only";
      amountStatus.setAttribute("role", "status");
      amountStatus.setAttribute("aria-live", "polite");
      amountStatus.id = "amount-status";
      form.appendChild(amountStatus);
    }
    amountStatus.textContent = "";
    window.setTimeout(function () { amountStatus.textContent = text; }, 50);
  }
  function isAmountField(el) {
    return el && el.tagName === "INPUT" && (el.hasAttribute("data-amount") || el.hasAttribute("data-amount-check"));
  }
  function showAmountError(input, message) {
    var id = input.id + "-desc-error", error = document.getElementById(id);
    var group = input.closest(".fr-input-group");
    if (!message) {
      if (error && error.hasAttribute("data-typed-error")) {
        error.parentNode.removeChild(error);
        input.removeAttribute("aria-invalid");
        input.classList.remove("fr-input--error");
        if (group) { group.classList.remove("fr-input-group--error"); }
        var rest = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== id; });
        if (rest.length) { input.setAttribute("aria-describedby", rest.join(" ")); } else { input.removeAttribute("aria-describedby"); }
      }
      return;
    }
    if (!error) {
      error = document.createElement("p");
      error.id = id;
      error.className = "fr-error-text";
      input.insertAdjacentElement("afterend", error);
    }
    error.setAttribute("data-typed-error", "");
    error.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.classList.add("fr-input--error");
    if (group) { group.classList.add("fr-input-group--error"); }
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(id) === -1) { described.push(id); input.setAttribute("aria-describedby", described.join(" ")); }
  }
  function amountMessage(input) {
    var read = window.PtceAmounts.parseAmount(input.value);
    if (!read.error) { return null; }
    var template = read.error === "format" ? amountMessages.invalid : amountMessages.refused;
    return template.split("__raw__").join(input.value.trim()) + " " + amountMessages[read.error];
  }
  // Left with a pointer (a click on « Ajouter une dépense »…): the message waits for the click to be done, so
  // that the button does not move away under the pointer.
  var pointerDown = false, pendingCheck = null;
  function checkAmount(input) {
    var message = amountMessage(input);
    showAmountError(input, message);
    if (message) { announceAmount(message); }
  }
  if (amountMessages && window.PtceAmounts) {
    document.addEventListener("pointerdown", function () { pointerDown = true; }, true);
    document.addEventListener("pointerup", function () {
      pointerDown = false;
      window.setTimeout(function () {
        if (pendingCheck) { var input = pendingCheck; pendingCheck = null; checkAmount(input); }
      }, 0);
    }, true);
    form.addEventListener("focusout", function (event) {
      if (!isAmountField(event.target)) { return; }
      if (pointerDown) { pendingCheck = event.target; } else { checkAmount(event.target); }
    });
    form.addEventListener("input", function (event) {  // the error goes once what is typed reads right
      if (isAmountField(event.target) && !amountMessage(event.target)) { showAmountError(event.target, null); }
    });
  }
})();
