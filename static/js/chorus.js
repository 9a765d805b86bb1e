// Chorus Pro screens: the SIRET check of the send dialog and the live report. Plain JS;
// both pages work without it (a "Vérifier le SIRET" submit button, a <noscript> refresh).
(function () {
  "use strict";

  function siretCheck(form) {
    var url = form.getAttribute("data-siret-check");
    var input = form.querySelector("[name=siret]");
    var out = document.getElementById("siret-check");
    if (!url || !input || !out) return;
    var last = null;
    function run() {
      var value = input.value.replace(/\s+/g, "");
      if (value === last) return;
      last = value;
      if (!value) { out.textContent = ""; out.className = "siret-check"; return; }
      out.textContent = "Vérification du SIRET…";
      out.className = "siret-check";
      fetch(url + "?siret=" + encodeURIComponent(value), {
        headers: { Accept: "application/json" }, credentials: "same-origin"
      })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (input.value.replace(/\s+/g, "") !== value) return;
          out.textContent = data.message;
          out.className = "siret-check is-" + (data.severity || (data.ok ? "ok" : "error"));
        })
        .catch(function () {
          out.textContent = "La vérification du SIRET n'a pas pu être faite ; réessayez.";
          out.className = "siret-check is-error";
          last = null;
        });
    }
    input.addEventListener("change", run);
    var checkButton = form.querySelector("button[name=check]");
    if (checkButton) {
      checkButton.addEventListener("click", function (event) {
        event.preventDefault();
        last = null;
        run();
      });
    }
    if (input.value && !out.textContent) run();
  }

  function poll(container) {
    var url = container.getAttribute("data-poll");
    var interval = parseInt(container.getAttribute("data-interval"), 10) || 1000;
    function set(id, value) {
      var el = document.getElementById(id);
      if (el) el.textContent = value || "–";
    }
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) throw new Error(String(r.status));
          return r.json();
        })
        .then(function (data) {
          container.innerHTML = data.html;
          set("submission-status", data.status_label);
          set("flow-number", data.flow_number);
          set("invoice-label", data.invoice_label);
          set("chorus-status", data.chorus_status);
          if (data.finished) {
            container.removeAttribute("data-poll");
            var target = document.getElementById("finish") || document.getElementById("retry");
            if (target) target.focus();
          } else {
            window.setTimeout(tick, interval);
          }
        })
        .catch(function () { window.setTimeout(tick, interval * 3); });
    }
    window.setTimeout(tick, interval);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-siret-check]").forEach(siretCheck);
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
