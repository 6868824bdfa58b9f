// The dashboard's sales and email panels: the default pipeline by stage (value and weighted
// value, when deals exist) and email outcomes since the start of the 12-month window.

import {gql} from "../api.js";
import {barChart, figure, groupedBarChart} from "../charts.js";
import {errorBox, h} from "../dom.js";
import * as fmt from "../format.js";

const SALES = `query ConsoleSales($since: DateTime!) {
  dealStats {
    stage { id name position probability }
    count amount { amount currency } weightedAmount { amount currency }
  }
  emailStats(since: $since) { queued sending sent failed bounced optedOut }
}`;

export const EMAIL_OUTCOMES = [["sent", "Sent"], ["bounced", "Bounced"], ["failed", "Failed"],
  ["queued", "Queued"], ["optedOut", "Opted out"]];

function inCurrency(list, currency) {
  const found = list.find((m) => m.currency === currency);
  return found ? Number(found.amount) : 0;
}

function pipelineSection(stats, currency) {
  if (!stats.some((s) => s.count > 0)) {
    return h("section", {class: "panel"}, h("h3", {}, "Pipeline"), h("p", {class: "note"}, "No open deals yet."));
  }
  const labels = stats.map((s) => s.stage.name);
  const amounts = stats.map((s) => inCurrency(s.amount, currency));
  const weighted = stats.map((s) => inCurrency(s.weightedAmount, currency));
  const money = (v) => fmt.money(v, currency);
  const total = weighted.reduce((a, b) => a + b, 0);
  return h("section", {class: "panel"}, figure({
    title: "Pipeline by stage",
    chart: groupedBarChart({title: "Pipeline by stage", labels, format: money,
      axisFormat: (v) => fmt.compactMoney(v, currency), yLabel: `Open deals (${currency})`,
      series: [{name: "Value", className: "bar", values: amounts},
               {name: "Weighted value", className: "bar weighted", values: weighted}]}),
    legend: [["bar", "Value"], ["bar weighted", "Weighted by the stage's probability"]],
    note: `Weighted pipeline: ${money(total)} in ${fmt.number(stats.reduce((a, s) => a + s.count, 0))} open deals`,
    columns: ["Stage", "Deals", "Value", "Weighted value"],
    rows: stats.map((s, i) => [s.stage.name, fmt.number(s.count), money(amounts[i]), money(weighted[i])]),
  }));
}

function emailSection(stats, since) {
  const values = EMAIL_OUTCOMES.map(([key]) => stats[key]);
  const labels = EMAIL_OUTCOMES.map(([, label]) => label);
  return h("section", {class: "panel"}, figure({
    title: "Email outcomes",
    chart: barChart({title: "Email outcomes", labels, values, format: (v) => `${fmt.number(v)} emails`,
                     axisFormat: fmt.number, yLabel: "Emails", className: "bar email"}),
    note: `Emails since ${fmt.date(since)}; opted out: customers who opt out now.`,
    columns: ["Outcome", "Count"],
    rows: labels.map((label, i) => [label, fmt.number(values[i])]),
  }));
}

/** The two panels (or an error box in their place). */
export async function salesSections(currency, since) {
  try {
    const data = await gql(SALES, {since: since.toISOString()});
    return [pipelineSection(data.dealStats, currency), emailSection(data.emailStats, since)];
  } catch (error) {
    return [errorBox(error)];
  }
}
