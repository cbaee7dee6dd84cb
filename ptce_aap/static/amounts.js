// Amounts typed the French way ("12 345,50 €"), read in the browser with exactly the rules of the server
// (ptce_aap/domain/money.py, parse_amount): the live totals of the financing plan then agree with the totals
// the server saves. An amount the server refuses counts for nothing here either.
// tests/unit/test_amounts_js.py runs this file and parse_amount over the same cases.
(function (root) {
  "use strict";
  // Python's \s (str.isspace), the no-break spaces and the apostrophe used as thousands separators.
  var SPACES = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000']/g;
  var AMOUNT = /^[0-9]+(\.[0-9]{1,2})?$/;
  var EXPONENT = /^[0-9]*[.,]?[0-9]+[eE][-+]?[0-9]+$/;
  var MINUS = "-\u2212";
  var MAX_CENTS = 99999999999;  // 999 999 999,99 €, as MAX_AMOUNT

  function endsWith(text, suffix) {
    return text.length >= suffix.length && text.slice(text.length - suffix.length) === suffix;
  }

  // {cents: integer or null (empty)} or {error: "format" | "exponent" | "negative" | "too_large"}.
  function parseAmount(text) {
    if (text === null || text === undefined) { return {cents: null}; }
    var cleaned = String(text).replace(SPACES, "");
    if (endsWith(cleaned, "€")) { cleaned = cleaned.slice(0, -1); }
    if (endsWith(cleaned, "EUR")) { cleaned = cleaned.slice(0, -3); }
    if (!cleaned) { return {cents: null}; }
    if (cleaned.split(",").length === 2 && cleaned.indexOf(".") === -1) { cleaned = cleaned.replace(",", "."); }
    var negative = false;
    if (MINUS.indexOf(cleaned.charAt(0)) !== -1 && cleaned.length > 1 && MINUS.indexOf(cleaned.charAt(1)) === -1) {
      negative = true;
      cleaned = cleaned.slice(1);
    }
    if (EXPONENT.test(cleaned)) { return {error: "exponent"}; }
    if (!AMOUNT.test(cleaned)) { return {error: "format"}; }
    var parts = cleaned.split(".");
    var fraction = ((parts[1] || "") + "00").slice(0, 2);
    var whole = parts[0].replace(/^0+(?=[0-9])/, "");
    if (negative && (whole !== "0" || fraction !== "00")) { return {error: "negative"}; }
    if (whole.length > 9) { return {error: "too_large"}; }
    var cents = parseInt(whole, 10) * 100 + parseInt(fraction, 10);
    if (cents > MAX_CENTS) { return {error: "too_large"}; }
    return {cents: cents};
  }

  // As the server's `eur` filter (domain/formatting.format_amount): "120 000 €", "120 000,50 €" in French;
  // "120,000 €", "120,000.50 €" when `locale` is "en".
  function formatCents(cents, locale) {
    var english = locale === "en";
    var sign = cents < 0 ? "-" : "";
    var abs = Math.abs(cents);
    var whole = String(Math.floor(abs / 100)), rest = abs % 100, groups = [];
    while (whole.length > 3) {
      groups.unshift(whole.slice(-3));
      whole = whole.slice(0, -3);
    }
    groups.unshift(whole);
    var text = sign + groups.join(english ? "," : "\u202f");
    if (rest) { text += (english ? "." : ",") + (rest < 10 ? "0" : "") + rest; }
    return text + " €";
  }

  var api = {parseAmount: parseAmount, formatCents: formatCents};
  if (typeof module === "object" && module.exports) { module.exports = api; } else { root.PtceAmounts = api; }
})(this);
