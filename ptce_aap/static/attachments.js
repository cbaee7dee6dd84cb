// Attachments page: send files straight to the store (presigned POST) with a progress bar.
// Without JavaScript (or an old browser) each form posts the file to the app, which does the same checks.
//
// Flow: POST JSON to data-start-url → {attachment_id, url, fields, confirm_url, delete_url};
// multipart POST of fields + file to url (S3, or the app's /stockage route for the local backend);
// POST confirm_url → the server verifies the object; then the page is reloaded to show the file.
(function () {
  "use strict";
  var t = window.PTCE.t;  // the page's language (static/ptce.js, loaded first)
  var NUMBER_LOCALE = document.documentElement.lang === "en" ? "en-GB" : "fr-FR";
  if (!window.fetch || !window.FormData || !window.XMLHttpRequest || !window.Promise) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute("content") : "";

  function frenchSize(bytes) {
    var digits = {maximumFractionDigits: 1};
    if (bytes >= 1048576) { return t("%(size)s Mo", {size: (bytes / 1048576).toLocaleString(NUMBER_LOCALE, digits)}); }
    if (bytes >= 1024) { return t("%(size)s ko", {size: (bytes / 1024).toLocaleString(NUMBER_LOCALE, digits)}); }
    return t("%(size)s octets", {size: bytes});
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok || !data.ok) {
          var message = data.message || (data.error && data.error.message) ||
            t("Le serveur n'a pas pu traiter la demande (erreur %(status)s). Réessayez.", {status: response.status});
          throw new Error(message);
        }
        return data;
      });
    }, function () {
      throw new Error(t("La connexion au serveur a été perdue. Vérifiez votre connexion et réessayez."));
    });
  }

  function sendFile(url, fields, file, onProgress) {
    return new Promise(function (resolve, reject) {
      var body = new FormData();
      Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
      body.append("file", file);  // S3 wants the file last
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) { onProgress(event.loaded, event.total); }
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
        var message = "";
        try { message = JSON.parse(xhr.responseText).error.message; } catch (e) { message = ""; }
        reject(new Error(message || t("Le fichier a été refusé par le serveur de stockage (erreur %(status)s). "
          + "Vérifiez sa taille et son format, puis réessayez.", {status: xhr.status})));
      };
      xhr.onerror = function () {
        reject(new Error(t("L'envoi a été interrompu (connexion perdue ?). Réessayez.")));
      };
      xhr.onabort = xhr.onerror;
      xhr.send(body);
    });
  }

  function setup(form) {
    var input = form.querySelector('input[type="file"]');
    var button = form.querySelector('button[type="submit"]');
    var errorBox = form.querySelector("[data-upload-error]");
    var group = form.querySelector(".fr-upload-group");
    var progressBox = form.querySelector("[data-upload-progress]");
    var progress = progressBox.querySelector("progress");
    var progressText = form.querySelector("[data-upload-progress-text]");
    var status = form.querySelector("[data-upload-status]");
    var busy = false;

    function showError(message) {
      errorBox.innerHTML = "";
      var p = document.createElement("p");
      p.className = "fr-error-text";
      p.textContent = message;
      errorBox.appendChild(p);
      group.classList.add("fr-upload-group--error");
      input.setAttribute("aria-invalid", "true");
    }
    function clearError() {
      errorBox.innerHTML = "";
      group.classList.remove("fr-upload-group--error");
      input.removeAttribute("aria-invalid");
    }
    function setBusy(value) {
      busy = value;
      button.disabled = value;
      input.disabled = value;
      form.setAttribute("aria-busy", value ? "true" : "false");
    }
    var lastAnnounced = -1;
    function showProgress(loaded, total) {
      var percent = total ? Math.floor(loaded * 100 / total) : 0;
      progress.value = percent;
      progressText.textContent = t("Envoi en cours : %(percent)s %% (%(loaded)s sur %(total)s)",
        {percent: percent, loaded: frenchSize(loaded), total: frenchSize(total)});
      var step = Math.floor(percent / 25) * 25;  // announce every quarter, not every event
      if (step !== lastAnnounced) {
        lastAnnounced = step;
        status.textContent = t("Envoi en cours : %(percent)s %%", {percent: step});
      }
    }

    input.addEventListener("change", clearError);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) { return; }
      clearError();
      var file = input.files && input.files[0];
      if (!file) {
        showError(t("Choisissez un fichier à envoyer."));
        input.focus();
        return;
      }
      var replaces = form.getAttribute("data-replaces");
      var started = null;
      setBusy(true);
      lastAnnounced = -1;
      progressBox.hidden = false;
      showProgress(0, file.size);
      postJSON(form.getAttribute("data-start-url"), {
        document_type: form.getAttribute("data-document-type"), filename: file.name, size: file.size,
        content_type: file.type || "application/octet-stream"
      }).then(function (data) {
        started = data;
        return sendFile(data.url, data.fields, file, showProgress);
      }).then(function () {
        showProgress(file.size, file.size);
        status.textContent = t("Fichier envoyé, vérification en cours…");
        progressText.textContent = t("Fichier envoyé, vérification en cours…");
        return postJSON(started.confirm_url, replaces ? {replaces: parseInt(replaces, 10)} : {});
      }).then(function (data) {
        status.textContent = data.message;
        var target = new URL(data.redirect, window.location.href);
        if (target.pathname === window.location.pathname && target.search === window.location.search) {
          window.location.hash = target.hash;
          window.location.reload();
        } else {
          window.location.assign(target.href);
        }
      }).catch(function (error) {
        progressBox.hidden = true;
        status.textContent = "";
        setBusy(false);
        showError(error.message);
        input.focus();
        if (started && started.delete_url) {  // drop the unfinished upload (its row, and object if any)
          postJSON(started.delete_url).catch(function () { return null; });
        }
      });
    });
  }

  document.querySelectorAll("form[data-upload]").forEach(setup);

  // While files are being checked, follow their status and reload when it changes.
  var root = document.getElementById("pieces");
  var pending = document.querySelectorAll('[data-attachment-status="processing"]');
  if (root && pending.length) {
    var shown = {};
    document.querySelectorAll("[data-attachment-id]").forEach(function (row) {
      shown[row.getAttribute("data-attachment-id")] = row.getAttribute("data-attachment-status");
    });
    var tries = 0;
    var poll = function () {
      tries += 1;
      fetch(root.getAttribute("data-state-url"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (data) {
          var changed = data.attachments.some(function (a) {
            return shown[String(a.id)] !== undefined && shown[String(a.id)] !== a.status;
          });
          if (changed) { window.location.reload(); } else if (tries < 40) { setTimeout(poll, 3000); }
        })
        .catch(function () { if (tries < 40) { setTimeout(poll, 5000); } });
    };
    setTimeout(poll, 2000);
  }
})();
