// Numbers, money and dates in the browser's locale and the organization's currency.

const locale = navigator.language || "en";
let currency = "EUR";

/** Sets the organization's currency, used when a call names none. */
export function setCurrency(code) {
  currency = code || currency;
}

export function orgCurrency() {
  return currency;
}

const cache = new Map();
function formatter(kind, options) {
  const key = kind + JSON.stringify(options);
  if (!cache.has(key)) {
    cache.set(key, kind === "date"
      ? new Intl.DateTimeFormat(locale, options)
      : new Intl.NumberFormat(locale, options));
  }
  return cache.get(key);
}

export function money(amount, code = currency, digits = 0) {
  if (amount === null || amount === undefined) return "–";
  return formatter("number", {
    style: "currency", currency: code, minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(Number(amount));
}

/** Short money for chart axes: 12K €. */
export function compactMoney(amount, code = currency) {
  return formatter("number", {style: "currency", currency: code, notation: "compact"})
    .format(Number(amount));
}

export function number(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return formatter("number", {maximumFractionDigits: digits}).format(value);
}

export function percent(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return formatter("number", {style: "percent", maximumFractionDigits: digits}).format(value);
}

/** A signed change like "+12%" ("new" when there was nothing before, "–" when neither). */
export function change(now, before) {
  if (!before) return now ? "new" : "–";
  return formatter("number", {style: "percent", maximumFractionDigits: 0, signDisplay: "exceptZero"})
    .format((now - before) / before);
}

export function date(iso) {
  return iso ? formatter("date", {dateStyle: "medium"}).format(new Date(iso)) : "–";
}

export function dateTime(iso) {
  return iso ? formatter("date", {dateStyle: "medium", timeStyle: "short"}).format(new Date(iso)) : "–";
}

/** "Mar 25" for a month given as an ISO date or date-time (read in UTC). */
export function month(iso) {
  return formatter("date", {month: "short", year: "2-digit", timeZone: "UTC"}).format(new Date(iso));
}

/** Words for an API enum or feature name: "recency_days" -> "recency days". */
export function words(name) {
  return String(name).replaceAll("_", " ").toLowerCase();
}
