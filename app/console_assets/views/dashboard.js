// The morning view: KPIs, revenue with the sales forecast, churn risk, segments.

import {gql} from "../api.js";
import {barChart, figure, forecastChart} from "../charts.js";
import {errorBox, h, replace} from "../dom.js";
import * as fmt from "../format.js";
import {salesSections} from "./dashboard_sales.js";

const DASHBOARD = `query ConsoleDashboard($monthStart: DateTime!, $previousStart: DateTime!,
                                  $previousSameDay: DateTime!, $yearStart: DateTime!) {
  all: customerStats { groups { count scoredCount averageChurnRisk expectedRevenue } }
  newThisMonth: customerStats(filter: {createdAfter: $monthStart}) { groups { count } }
  newPreviousMonth: customerStats(filter: {createdAfter: $previousStart,
                                           createdBefore: $previousSameDay}) { groups { count } }
  revenueByMonth: orderStats(filter: {statuses: [PAID], placedAfter: $yearStart},
                             groupBy: [MONTH]) {
    groups { month currency count total { amount } }
  }
  previousToDate: orderStats(filter: {statuses: [PAID], placedAfter: $previousStart,
                                      placedBefore: $previousSameDay}) {
    groups { currency count total { amount } }
  }
  salesForecast(months: 6) {
    status message currency intervalLevel
    months { month expected { amount } low { amount } high { amount } }
  }
  segments {
    name size
    profile { recencyDays ordersLastYear revenueLastYear { amount currency } share }
  }
}`;

/** Churn risk in ten bins; the upper bound is kept just below the next bin's lower bound. */
export const RISK_BINS = Array.from({length: 10}, (_, i) => [i / 10, i === 9 ? 1 : (i + 1) / 10 - 1e-9]);

const RISK = `query ConsoleRisk {
  ${RISK_BINS.map(([min, max], i) =>
    `bin${i}: customerStats(filter: {minChurnRisk: ${min}, maxChurnRisk: ${max}}) { groups { count } }`).join("\n  ")}
  atRisk: customers(first: 8, orderBy: CHURN_RISK_DESC) {
    nodes {
      id name company
      prediction { churnRisk expectedRevenue { amount currency } reasons { feature direction weight } }
    }
  }
}`;

function monthKey(iso) {
  return iso.slice(0, 7);
}

/** The window boundaries, in UTC: this month, the previous one, the last 12 months. */
export function periods(now = new Date()) {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const monthStart = new Date(Date.UTC(y, m, 1));
  const previousStart = new Date(Date.UTC(y, m - 1, 1));
  const elapsed = now - monthStart;
  const previousSameDay = new Date(Math.min(previousStart.getTime() + elapsed, monthStart.getTime()));
  const yearStart = new Date(Date.UTC(y, m - 11, 1));
  return {monthStart, previousStart, previousSameDay, yearStart};
}

function count(stats) {
  return stats.groups.reduce((sum, g) => sum + g.count, 0);
}

function kpi(label, value, detail) {
  return h("div", {class: "kpi"}, h("span", {class: "kpi-label"}, label),
    h("strong", {class: "kpi-value"}, value), detail ? h("span", {class: "kpi-detail"}, detail) : null);
}

function revenueSection(data, currency, p) {
  const inCurrency = data.revenueByMonth.groups.filter((g) => g.currency === currency);
  const booked = new Map(inCurrency.map((g) => [monthKey(g.month), Number(g.total.amount)]));
  const months = [];
  for (let i = 0; i < 12; i++) {
    const d = new Date(Date.UTC(p.yearStart.getUTCFullYear(), p.yearStart.getUTCMonth() + i, 1));
    months.push(d.toISOString());
  }
  const forecast = data.salesForecast;
  const predicted = new Map(forecast.months.map((f) => [monthKey(f.month), f]));
  for (const f of forecast.months) {
    if (!months.some((m) => monthKey(m) === monthKey(f.month))) months.push(`${monthKey(f.month)}-01T00:00:00Z`);
  }
  const points = months.map((m) => {
    const f = predicted.get(monthKey(m));
    return {
      label: fmt.month(m), actual: booked.has(monthKey(m)) ? booked.get(monthKey(m)) : (f ? null : 0),
      expected: f ? Number(f.expected.amount) : null,
      low: f ? Number(f.low.amount) : null, high: f ? Number(f.high.amount) : null,
    };
  });
  const level = forecast.intervalLevel ? fmt.percent(forecast.intervalLevel) : "";
  const money = (v) => fmt.money(v, currency);
  return figure({
    title: "Revenue by month",
    chart: forecastChart({title: "Revenue by month", points, format: money,
                          axisFormat: (v) => fmt.compactMoney(v, currency), yLabel: `Paid orders (${currency})`,
                          intervalLabel: `${level} forecast interval`}),
    legend: [["bar", "Paid orders"], ["forecast-line", "Forecast"], ["band", `${level} interval`]],
    note: forecast.status === "AVAILABLE" ? null : forecast.message,
    columns: ["Month", "Paid orders", "Forecast", "Low", "High"],
    rows: points.map((pt) => [pt.label, pt.actual === null ? "–" : money(pt.actual),
                              pt.expected === null ? "–" : money(pt.expected),
                              pt.low === null ? "–" : money(pt.low), pt.high === null ? "–" : money(pt.high)]),
  });
}

function kpis(data, currency, p) {
  const all = data.all.groups[0] || {count: 0, scoredCount: 0};
  const key = monthKey(p.monthStart.toISOString());
  const thisMonth = data.revenueByMonth.groups.find((g) => g.currency === currency && monthKey(g.month) === key);
  const previous = data.previousToDate.groups.find((g) => g.currency === currency);
  const revenueNow = thisMonth ? Number(thisMonth.total.amount) : 0;
  const revenueBefore = previous ? Number(previous.total.amount) : 0;
  const newNow = count(data.newThisMonth);
  const newBefore = count(data.newPreviousMonth);
  return h("section", {class: "kpis", "aria-label": "Key figures"},
    kpi("Customers", fmt.number(all.count), `${fmt.number(newNow)} new this month (${fmt.change(newNow, newBefore)} vs same days last month)`),
    kpi("Revenue this month", fmt.money(revenueNow, currency),
        `${fmt.change(revenueNow, revenueBefore)} vs ${fmt.money(revenueBefore, currency)} in the same days last month`),
    kpi("Orders this month", fmt.number(thisMonth ? thisMonth.count : 0),
        `${fmt.number(previous ? previous.count : 0)} in the same days last month`),
    kpi("Average churn risk", fmt.percent(all.averageChurnRisk),
        `${fmt.number(all.scoredCount)} customers scored`),
    kpi("Expected revenue", fmt.money(all.expectedRevenue, currency), "from the scored customers"));
}

function riskSection(risk) {
  const labels = RISK_BINS.map(([min], i) => `${i * 10}–${(i + 1) * 10}%`);
  const values = RISK_BINS.map((_, i) => count(risk[`bin${i}`]));
  return figure({
    title: "Churn risk distribution",
    chart: barChart({title: "Churn risk distribution", labels, values, format: (v) => `${fmt.number(v)} customers`,
                     axisFormat: fmt.number, xLabel: "Churn risk", yLabel: "Customers", className: "bar risk"}),
    columns: ["Churn risk", "Customers"],
    rows: labels.map((label, i) => [label, fmt.number(values[i])]),
  });
}

export function reasonList(reasons) {
  return h("ul", {class: "reasons"}, reasons.map((r) => h("li", {class: `reason ${r.direction.toLowerCase()}`,
    title: `weight ${fmt.number(r.weight, 2)}`},
  `${r.direction === "UP" ? "↑" : "↓"} ${fmt.words(r.feature)}`)));
}

function atRiskSection(risk) {
  const rows = risk.atRisk.nodes.filter((c) => c.prediction && c.prediction.churnRisk !== null);
  return h("section", {class: "panel", "aria-labelledby": "at-risk-title"},
    h("h3", {id: "at-risk-title"}, "Most at risk"),
    rows.length ? h("table", {class: "data at-risk"},
      h("thead", {}, h("tr", {}, ["Customer", "Churn risk", "Expected revenue", "Why"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, rows.map((c) => h("tr", {},
        h("th", {scope: "row"}, h("a", {href: `#/customers/${encodeURIComponent(c.id)}`}, c.name),
          c.company ? h("span", {class: "muted"}, ` · ${c.company}`) : null),
        h("td", {class: "num"}, fmt.percent(c.prediction.churnRisk)),
        h("td", {class: "num"}, c.prediction.expectedRevenue ? fmt.money(c.prediction.expectedRevenue.amount, c.prediction.expectedRevenue.currency) : "–"),
        h("td", {}, reasonList(c.prediction.reasons)))))) : h("p", {class: "note"}, "No predictions yet: the models train shortly after the server starts."));
}

function segmentSection(segments, currency) {
  if (!segments.length) return h("p", {class: "note"}, "No segments yet.");
  const labels = segments.map((s) => s.name);
  return h("div", {},
    figure({
      title: "Segments",
      chart: barChart({title: "Segments", labels, values: segments.map((s) => s.size),
                       format: (v) => `${fmt.number(v)} customers`, axisFormat: fmt.number, yLabel: "Customers",
                       className: "bar segment"}),
      columns: ["Segment", "Customers"],
      rows: segments.map((s) => [s.name, fmt.number(s.size)]),
    }),
    h("table", {class: "data segments"},
      h("caption", {}, "Segment profiles (averages at training time)"),
      h("thead", {}, h("tr", {}, ["Segment", "Customers", "Share", "Days since last order", "Orders last year", "Revenue last year"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, segments.map((s) => h("tr", {},
        h("th", {scope: "row"}, s.name), h("td", {class: "num"}, fmt.number(s.size)),
        h("td", {class: "num"}, fmt.percent(s.profile.share)),
        h("td", {class: "num"}, fmt.number(s.profile.recencyDays)),
        h("td", {class: "num"}, fmt.number(s.profile.ordersLastYear, 1)),
        h("td", {class: "num"}, fmt.money(s.profile.revenueLastYear.amount, s.profile.revenueLastYear.currency || currency)))))));
}

export async function render(root) {
  const p = periods();
  const variables = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.toISOString()]));
  replace(root, h("h2", {}, "Dashboard"), h("p", {class: "loading"}, "Loading…"));
  let data;
  let risk;
  let sales;
  try {
    [data, risk, sales] = await Promise.all([gql(DASHBOARD, variables), gql(RISK),
      salesSections(fmt.orgCurrency(), p.yearStart)]);
  } catch (error) {
    replace(root, h("h2", {}, "Dashboard"), errorBox(error));
    return;
  }
  const currency = fmt.orgCurrency();
  replace(root,
    h("h2", {}, "Dashboard"),
    kpis(data, currency, p),
    h("div", {class: "grid"},
      h("section", {class: "panel wide"}, revenueSection(data, currency, p)),
      h("section", {class: "panel"}, riskSection(risk)),
      atRiskSection(risk),
      ...sales,
      h("section", {class: "panel wide"}, segmentSection(data.segments, currency))));
}
