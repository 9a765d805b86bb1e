/* Chorale: behaviour shared by every page (plain JavaScript, no build step).
 * - forms marked data-guard warn before leaving with unsaved changes;
 * - the Chorus Pro zone of the customer form follows the customer kind;
 * - context menus (right-click, Shift+F10 or the menu key) on elements with data-context-menu;
 * - the invoice list's selection counter;
 * - identifiers left blank show the value derived from the others (SIREN, directory address);
 * - the article form's exemption code fills its usual reason and VAT category;
 * - a link to a field inside a folded section (#id_delivery_city) unfolds it;
 * - after a failed submission, focus goes to the first field in error. */
(function () {
  "use strict";

  var dirtyForms = new Set();
  var submitting = false;

  function markDirty(form) { if (form) { dirtyForms.add(form); } }
  function markClean(form) { dirtyForms.delete(form); }

  document.querySelectorAll("form[data-guard]").forEach(function (form) {
    form.addEventListener("input", function () { markDirty(form); });
    form.addEventListener("change", function () { markDirty(form); });
    form.addEventListener("submit", function () { submitting = true; markClean(form); });
  });
  // A form re-rendered with errors still holds unsaved work.
  document.querySelectorAll("form[data-guard]").forEach(function (form) {
    if (form.querySelector(".has-error, .form-errors")) { markDirty(form); }
  });

  window.addEventListener("beforeunload", function (event) {
    if (!submitting && dirtyForms.size > 0) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  window.Chorale = { markDirty: markDirty, markClean: markClean };

  /* Chorus Pro zone: only for companies and sole proprietorships (seed §2.3). Hidden fields
   * are disabled so they are not posted, but keep what was typed if the kind changes back. */
  document.querySelectorAll("[data-chorus-zone]").forEach(function (zone) {
    var kind = document.getElementById(zone.dataset.kindField);
    var off = document.getElementById("chorus-zone-off");
    if (!kind) { return; }
    function sync() {
      var individual = kind.value === zone.dataset.individual;
      zone.hidden = individual;
      if (off) { off.hidden = !individual; }
      zone.querySelectorAll("input, select, textarea").forEach(function (el) {
        el.disabled = individual;
      });
    }
    kind.addEventListener("change", sync);
    sync();
  });

  /* Context menus */
  function openMenu(menu, x, y, opener) {
    menu.hidden = false;
    var width = menu.offsetWidth, height = menu.offsetHeight;
    var left = Math.min(x, window.innerWidth - width - 8);
    var top = Math.min(y, window.innerHeight - height - 8);
    menu.style.left = Math.max(8, left) + window.scrollX + "px";
    menu.style.top = Math.max(8, top) + window.scrollY + "px";
    menu._opener = opener;
    var items = menu.querySelectorAll("[role=menuitem]");
    if (items.length) { items[0].focus(); }
  }
  function closeMenu(menu, restoreFocus) {
    if (menu.hidden) { return; }
    menu.hidden = true;
    if (restoreFocus && menu._opener && menu._opener.focus) { menu._opener.focus(); }
  }
  document.querySelectorAll("[data-context-menu]").forEach(function (area) {
    var menu = document.getElementById(area.dataset.contextMenu);
    if (!menu) { return; }
    document.body.appendChild(menu);
    area.addEventListener("contextmenu", function (event) {
      event.preventDefault();
      var opener = document.activeElement;
      var x = event.clientX, y = event.clientY;
      if (!x && !y) {  // keyboard (Shift+F10 / menu key): open next to the focused field
        var rect = (area.contains(opener) ? opener : area).getBoundingClientRect();
        x = rect.left; y = rect.bottom;
      }
      openMenu(menu, x, y, opener);
    });
    menu.addEventListener("keydown", function (event) {
      var items = Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]"));
      var index = items.indexOf(document.activeElement);
      if (event.key === "ArrowDown") {
        event.preventDefault(); items[(index + 1) % items.length].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault(); items[(index - 1 + items.length) % items.length].focus();
      } else if (event.key === "Home") {
        event.preventDefault(); items[0].focus();
      } else if (event.key === "End") {
        event.preventDefault(); items[items.length - 1].focus();
      } else if (event.key === "Escape") {
        event.preventDefault(); closeMenu(menu, true);
      } else if (event.key === "Tab") {
        closeMenu(menu, true);
      }
    });
    document.addEventListener("click", function (event) {
      if (!menu.contains(event.target)) { closeMenu(menu, false); }
    });
    menu.addEventListener("click", function () { closeMenu(menu, false); });
    window.addEventListener("resize", function () { closeMenu(menu, false); });
  });

  /* Invoice list: selection counter of the bulk actions */
  var bulk = document.getElementById("bulk-form");
  if (bulk) {
    var counter = bulk.querySelector("[data-selection-count]");
    var update = function () {
      var n = bulk.querySelectorAll("input[name=invoice]:checked").length;
      if (counter) {
        counter.textContent = n === 0 ? "Aucune facture sélectionnée"
          : n === 1 ? "1 facture sélectionnée" : n + " factures sélectionnées";
      }
    };
    bulk.addEventListener("change", update);
    update();
  }

  /* Identifiers derived when left blank (invoicing.fr_ctc): the SIREN is the SIRET's first
   * nine digits; the directory address is the SIREN, or SIREN_SIRET for a public buyer. */
  function digits(id) {
    var el = document.getElementById(id);
    return el && !el.disabled ? el.value.replace(/[\s.\-]/g, "") : "";
  }
  document.querySelectorAll("[data-derive-from]").forEach(function (input) {
    var sources = input.dataset.deriveFrom.split(" ");
    function sync() {
      var siren = "", siret = "";
      sources.forEach(function (id) {
        var value = digits(id);
        if (/^\d{14}$/.test(value)) { siret = value; }
        if (!siren && /^\d{9}/.test(value)) { siren = value.slice(0, 9); }
      });
      var pub = document.getElementById(input.dataset.derivePublic || "");
      var derived = siren;
      if (pub && pub.checked && siren && siret.indexOf(siren) === 0) {
        derived = siren + "_" + siret;
      }
      input.placeholder = derived;
    }
    sources.concat([input.dataset.derivePublic || ""]).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) { el.addEventListener("input", sync); el.addEventListener("change", sync); }
    });
  });

  /* Article form: choosing an exemption code sets its VAT category (rate 0) and, when the
   * reason is blank or still another code's usual text, the code's usual text. */
  var exemptionData = document.getElementById("exemptions-data");
  document.querySelectorAll("select[data-exemption-code]").forEach(function (select) {
    var data = JSON.parse(exemptionData.textContent);
    var reason = document.getElementById(select.dataset.exemptionCode);
    var category = document.getElementById("id_vat_category");
    var rate = document.getElementById("id_vat_rate");
    var usual = Object.keys(data.codes).map(function (code) { return data.codes[code][1]; });
    select.addEventListener("change", function () {
      var entry = data.codes[select.value];
      if (!entry) { return; }
      if (category && category.value !== entry[0]) {
        category.value = entry[0];
        if (rate) { rate.value = "0"; }
      }
      if (reason && (!reason.value.trim() || usual.indexOf(reason.value) !== -1)) {
        reason.value = entry[1];
      }
    });
  });

  /* A link to a field in a folded section (the « Contrôle » panel's) unfolds it. */
  function reveal(hash) {
    var target = hash.length > 1 ? document.getElementById(decodeURIComponent(hash.slice(1))) : null;
    if (!target) { return; }
    var details = target.closest("details");
    if (details && !details.open) { details.open = true; }
    if (target.matches("input, select, textarea")) { target.focus(); }
  }
  window.addEventListener("hashchange", function () { reveal(window.location.hash); });

  /* After a refused submission, go straight to the first field in error. */
  var firstError = document.querySelector("main [aria-invalid=true]:not([type=hidden])");
  if (firstError) {
    var folded = firstError.closest("details");
    if (folded) { folded.open = true; }
    firstError.focus();
  } else if (window.location.hash) {
    reveal(window.location.hash);
  } else {
    var box = document.querySelector(".form-errors[tabindex]");
    if (box) { box.focus(); }
  }
})();
