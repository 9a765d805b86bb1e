/* Invoice entry screen: the lines grid, article picking and the live totals preview;
 * each line's nature and VAT exemption code, the category of the operation, the delivery
 * address pre-filled from the customer.
 *
 * The preview follows invoicing/totals.py exactly, in integers (no floating point):
 * line amount = quantity x unit price rounded half-up to the cent; VAT per (category, rate)
 * group = group base x rate rounded half-up to the cent. The saved figures are always
 * recomputed by the server with invoicing.totals. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-entry]");
  if (!form) { return; }
  var tbody = form.querySelector("[data-lines]");
  var template = document.getElementById("line-template");
  var totalForms = form.querySelector("[data-total-forms]");
  var previewNote = form.querySelector("[data-preview-note]");
  var lookupUrl = form.dataset.lookupUrl;
  var articles = {};
  JSON.parse(document.getElementById("articles-data").textContent).forEach(function (a) {
    articles[a.code.toUpperCase()] = a;
  });
  // {codes: {code: [category, usual text]}, defaults: {category: code}, exempt: [categories]}
  var exemptions = JSON.parse(document.getElementById("exemptions-data").textContent);
  var deliveries = JSON.parse(document.getElementById("customer-deliveries").textContent);
  var categoryOutput = form.querySelector("[data-operation-category]");
  var alreadyPaid = form.querySelector("#id_already_paid");

  /* --- Decimal arithmetic on BigInt ------------------------------------------------------ */

  // "1 234,5" -> 12345000n at scale 4; null when empty or not a number with <= scale decimals.
  function toScaled(text, scale) {
    var clean = String(text || "").replace(/[\s\u00a0\u202f]/g, "").replace(",", ".");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)$/.test(clean)) { return null; }
    var negative = clean[0] === "-";
    clean = clean.replace(/^[-+]/, "");
    var parts = clean.split(".");
    var frac = parts[1] || "";
    if (frac.length > scale) { return null; }
    while (frac.length < scale) { frac += "0"; }
    var value = BigInt((parts[0] || "0") + frac);
    return negative ? -value : value;
  }

  // n / d rounded half away from zero (Python's ROUND_HALF_UP).
  function divRound(n, d) {
    var negative = n < 0n;
    var a = negative ? -n : n;
    var q = (2n * a + d) / (2n * d);
    return negative ? -q : q;
  }

  var NBSP = "\u00a0";
  function group(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, NBSP); }

  function formatCents(cents) {
    var negative = cents < 0n;
    var a = negative ? -cents : cents;
    var s = a.toString().padStart(3, "0");
    return (negative ? "-" : "") + group(s.slice(0, -2)) + "," + s.slice(-2) + NBSP + "€";
  }

  function formatRate(hundredths) {  // 550n -> "5,5 %"
    var s = (hundredths < 0n ? -hundredths : hundredths).toString().padStart(3, "0");
    var frac = s.slice(-2).replace(/0+$/, "");
    return s.slice(0, -2) + (frac ? "," + frac : "") + NBSP + "%";
  }

  function plainDecimal(text) {  // "10.0000" -> "10,00", "12.3450" -> "12,345"
    var parts = String(text).split(".");
    var frac = (parts[1] || "").replace(/0+$/, "");
    while (frac.length < 2) { frac += "0"; }
    return parts[0] + "," + frac;
  }

  /* --- Rows --------------------------------------------------------------------------- */

  function rows() { return Array.prototype.slice.call(tbody.querySelectorAll("tr[data-line]")); }
  function cell(row, name) { return row.querySelector('[name$="-' + name + '"]'); }

  function renumber() {
    rows().forEach(function (row, i) {
      row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) { el.setAttribute(attr, value.replace(/lines-(\d+|__prefix__)-/, "lines-" + i + "-")); }
        });
      });
      row.querySelector("[data-line-no]").textContent = String(i + 1);
      row.querySelectorAll("label[data-cell-label]").forEach(function (label) {
        label.textContent = label.dataset.cellLabel + ", ligne " + (i + 1);
      });
      var removeLabel = row.querySelector("[data-remove-label]");
      if (removeLabel) { removeLabel.textContent = "Supprimer la ligne " + (i + 1); }
    });
    totalForms.value = String(rows().length);
  }

  function addLine(after) {
    var fragment = template.content.cloneNode(true);
    var row = fragment.querySelector("tr");
    if (after && after.nextSibling) { tbody.insertBefore(row, after.nextSibling); }
    else { tbody.appendChild(row); }
    renumber();
    window.Chorale.markDirty(form);
    cell(row, "article").focus();
    return row;
  }

  function removeLine(row) {
    var all = rows();
    var index = all.indexOf(row);
    var column = document.activeElement && row.contains(document.activeElement)
      ? (document.activeElement.name || "").replace(/^lines-\d+-/, "") : "article";
    if (all.length === 1) {  // keep one (blank) row to type in
      row.querySelectorAll("input:not([type=hidden])").forEach(function (el) { el.value = ""; });
      cell(row, "vat_rate").value = "20,00";
      cell(row, "vat_category").value = "S";
      cell(row, "exemption_reason").value = "";
      cell(row, "unit").value = "C62";
      cell(row, "nature").value = "services";
      syncExemption(row);
      row.dataset.article = "";
    } else {
      row.remove();
    }
    renumber();
    window.Chorale.markDirty(form);
    recompute();
    var rest = rows();
    var target = rest[Math.min(index, rest.length - 1)];
    (cell(target, column || "article") || cell(target, "article")).focus();
  }

  /* --- VAT exemption code and nature ------------------------------------------------------ */

  function usualText(code) { return exemptions.codes[code] ? exemptions.codes[code][1] : ""; }

  function isUsualText(text) {
    return Object.keys(exemptions.codes).some(function (code) { return usualText(code) === text; });
  }

  // The code's select is shown for an exempt VAT category only (its value is moot otherwise).
  function syncExemption(row) {
    var exempt = exemptions.exempt.indexOf(cell(row, "vat_category").value) !== -1;
    row.querySelector("[data-exemption]").hidden = !exempt;
    if (!exempt) { cell(row, "exemption_code").value = ""; }
  }

  // A reason left blank or still the usual text of a code follows the code chosen.
  function codeChosen(row) {
    var reason = cell(row, "exemption_reason");
    if (!reason.value || isUsualText(reason.value)) {
      reason.value = usualText(cell(row, "exemption_code").value);
    }
  }

  // B, S or M from the natures of the lines typed (fr_ctc.operation_category).
  function updateCategory() {
    var found = {};
    rows().forEach(function (row) {
      if (cell(row, "label").value.trim() || cell(row, "article").value.trim()) {
        found[cell(row, "nature").value || "services"] = true;
      }
    });
    var letter = found.goods && found.services ? "M" : found.goods ? "B" : found.services ? "S" : "";
    categoryOutput.textContent = letter ? categoryOutput.dataset["label" + letter] : "—";
  }

  /* --- Articles ------------------------------------------------------------------------ */

  function fillFromArticle(row, article) {
    row.dataset.article = article.code.toUpperCase();
    cell(row, "article").value = article.code;
    cell(row, "label").value = article.label;
    cell(row, "unit").value = article.unit;
    cell(row, "unit_price").value = plainDecimal(article.unit_price);
    cell(row, "vat_rate").value = plainDecimal(article.vat_rate);
    cell(row, "vat_category").value = article.vat_category;
    cell(row, "nature").value = article.nature || "services";
    var code = article.exemption_code || exemptions.defaults[article.vat_category] || "";
    cell(row, "exemption_code").value = code;
    cell(row, "exemption_reason").value = article.exemption_reason || usualText(code);
    syncExemption(row);
    if (!cell(row, "quantity").value) { cell(row, "quantity").value = "1"; }
    recompute();
  }

  function articleTyped(row, allowFetch) {
    var code = cell(row, "article").value.trim().toUpperCase();
    if (!code || row.dataset.article === code) { return; }
    if (articles[code]) { fillFromArticle(row, articles[code]); return; }
    if (!allowFetch) { return; }
    fetch(lookupUrl + "?code=" + encodeURIComponent(code), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (article) {
        if (article) { articles[article.code.toUpperCase()] = article; fillFromArticle(row, article); }
      })
      .catch(function () { /* offline: the server checks the code on save */ });
  }

  /* --- Totals preview ------------------------------------------------------------------ */

  function recompute() {
    var groups = {};
    var lineTotal = 0n;
    rows().forEach(function (row) {
      var output = row.querySelector("[data-amount]");
      var q = toScaled(cell(row, "quantity").value, 4);
      var p = toScaled(cell(row, "unit_price").value, 4);
      var r = toScaled(cell(row, "vat_rate").value, 2);
      if (q === null || p === null || r === null) { output.textContent = ""; return; }
      var net = divRound(q * p, 1000000n);  // scale 8 -> cents
      output.textContent = formatCents(net);
      lineTotal += net;
      var category = cell(row, "vat_category").value || "S";
      var key = category + "|" + r.toString();
      if (!groups[key]) { groups[key] = { category: category, rate: r, base: 0n }; }
      groups[key].base += net;
    });
    var list = Object.keys(groups).map(function (k) { return groups[k]; });
    list.sort(function (a, b) {
      var sa = a.category !== "S" ? 1 : 0, sb = b.category !== "S" ? 1 : 0;
      if (sa !== sb) { return sa - sb; }
      if (a.rate !== b.rate) { return a.rate > b.rate ? -1 : 1; }
      return a.category < b.category ? -1 : a.category > b.category ? 1 : 0;
    });
    var taxTotal = 0n;
    var body = form.querySelector("[data-vat-breakdown]");
    body.textContent = "";
    list.forEach(function (g) {
      var tax = divRound(g.base * g.rate, 10000n);
      taxTotal += tax;
      var tr = document.createElement("tr");
      [formatRate(g.rate) + (g.category !== "S" ? " (" + g.category + ")" : ""),
       formatCents(g.base), formatCents(tax)].forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i > 0) { td.className = "num"; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    form.querySelector('[data-total="ht"]').textContent = formatCents(lineTotal);
    form.querySelector('[data-total="tva"]').textContent = formatCents(taxTotal);
    var ttc = lineTotal + taxTotal;
    var prepaid = alreadyPaid && alreadyPaid.checked ? ttc : 0n;
    form.querySelector('[data-total="ttc"]').textContent = formatCents(ttc);
    form.querySelector('[data-total="prepaid"]').textContent = formatCents(prepaid);
    form.querySelector("[data-prepaid-row]").hidden = prepaid === 0n;
    form.querySelector('[data-total="due"]').textContent = formatCents(ttc - prepaid);
    updateCategory();
  }

  /* --- Events ------------------------------------------------------------------------- */

  tbody.addEventListener("input", function (event) {
    var row = event.target.closest("tr[data-line]");
    if (row && /-article$/.test(event.target.name)) { articleTyped(row, false); }
    recompute();
    if (previewNote) { previewNote.hidden = false; }
  });
  tbody.addEventListener("change", function (event) {
    var row = event.target.closest("tr[data-line]");
    if (row && /-article$/.test(event.target.name)) { articleTyped(row, true); }
    if (row && /-exemption_code$/.test(event.target.name)) { codeChosen(row); }
  });
  if (alreadyPaid) {
    alreadyPaid.addEventListener("change", function () {
      recompute();
      if (previewNote) { previewNote.hidden = false; }
    });
  }

  /* The delivery address follows the customer chosen, unless it was typed by hand: fields
   * blank or still showing the previous customer's address take the new customer's. */
  var customerSelect = form.querySelector("#id_customer");
  var deliveryBox = form.querySelector("[data-delivery]");
  var DELIVERY = ["delivery_name", "delivery_address_line1", "delivery_address_line2",
                  "delivery_postcode", "delivery_city", "delivery_country_code"];
  function deliveryOf(pk) { return deliveries[pk] || {}; }
  function deliveryField(name) { return form.querySelector("#id_" + name); }
  var shownDelivery = deliveryOf(customerSelect.value);
  customerSelect.addEventListener("change", function () {
    var untouched = DELIVERY.every(function (name) {
      var value = deliveryField(name).value;
      return !value || value === (shownDelivery[name] || "");
    });
    var next = deliveryOf(customerSelect.value);
    if (untouched) {
      DELIVERY.forEach(function (name) { deliveryField(name).value = next[name] || ""; });
      if (next.delivery_address_line1 || next.delivery_city) { deliveryBox.open = true; }
    }
    shownDelivery = next;
  });
  tbody.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-line]");
    if (button) { removeLine(button.closest("tr[data-line]")); }
  });
  form.querySelector("[data-add-line]").addEventListener("click", function () { addLine(null); });

  function gridFields() {
    return Array.prototype.slice.call(
      tbody.querySelectorAll("input:not([type=hidden]), select")
    ).filter(function (el) { return !el.closest("[hidden]"); });
  }

  tbody.addEventListener("keydown", function (event) {
    var row = event.target.closest("tr[data-line]");
    if (!row) { return; }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      addLine(row);
    } else if (event.key === "Delete" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      removeLine(row);
    } else if (event.key === "Enter" && !event.shiftKey && !event.altKey
               && event.target.matches("input, select")) {
      // Enter moves on like in a spreadsheet (and never submits half-typed lines).
      event.preventDefault();
      if (/-article$/.test(event.target.name)) { articleTyped(row, true); }
      var fields = gridFields();
      var index = fields.indexOf(event.target);
      if (/-article$/.test(event.target.name) && cell(row, "label").value) {
        cell(row, "quantity").focus(); cell(row, "quantity").select();
      } else if (index === fields.length - 1) {
        addLine(row);
      } else {
        fields[index + 1].focus();
        if (fields[index + 1].select) { fields[index + 1].select(); }
      }
    }
  });

  /* « Valider la facture » saves, checks, then numbers: irreversible, so it asks first. */
  var validateButton = document.querySelector(".page-head [data-validate]");
  function confirmValidation() {
    return !validateButton || window.confirm(validateButton.dataset.confirm);
  }
  document.querySelectorAll("[data-validate]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!confirmValidation()) { event.preventDefault(); }
    });
  });

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      form.requestSubmit();
    } else if ((event.ctrlKey || event.metaKey) && event.shiftKey && event.key === "Enter"
               && validateButton) {
      event.preventDefault();
      event.stopPropagation();
      if (confirmValidation()) { form.requestSubmit(validateButton); }
    }
  }, true);

  /* The « Contrôle » panel's links: open the folded header if the field is in it. */
  document.querySelectorAll("[data-control-link]").forEach(function (link) {
    var hash = link.getAttribute("href");
    if (hash.charAt(0) !== "#") { return; }
    link.addEventListener("click", function (event) {
      var target = document.querySelector(hash);
      if (!target) { return; }
      event.preventDefault();
      var details = target.closest("details");
      if (details) { details.open = true; }
      target.focus();
      if (target.select) { target.select(); }
    });
  });

  rows().forEach(function (row) {
    var code = cell(row, "article").value.trim().toUpperCase();
    if (code) { row.dataset.article = code; }
  });
  if (form.hasAttribute("data-recompute")) { recompute(); }
})();
