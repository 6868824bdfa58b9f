// The conditions of the filter builder: each turns (operator, value) into a CustomerFilter
// fragment and reads such a fragment back (so a saved view opens in the builder again).

const AT_LEAST = ["gte", "at least"];
const AT_MOST = ["lte", "at most"];
const BEFORE = ["before", "before"];
const AFTER = ["after", "on or after"];
const CHANNELS = ["EMAIL", "PHONE", "SMS", "MEETING", "CHAT", "SOCIAL", "NOTE"];
const STAGES = ["LEAD", "PROSPECT", "CUSTOMER", "CHURNED"];

const isoDate = (day) => new Date(`${day}T00:00:00Z`).toISOString();
const dayOf = (iso) => String(iso).slice(0, 10);
const only = (object, key) => object && Object.keys(object).length === 1 && key in object;

function range(group, key, number) {
  return {
    ops: [AT_LEAST, AT_MOST], input: number ? "number" : "money",
    build: (op, v) => ({[group]: {[key]: {[op]: number ? Number(v) : String(v)}}}),
    parse: (f) => {
      const r = only(f, group) && only(f[group], key) ? f[group][key] : null;
      const op = r && Object.keys(r).length === 1 ? Object.keys(r)[0] : null;
      return op ? {op, value: r[op]} : null;
    },
  };
}

function scalar(group, key, input, ops = [["is", "is"]]) {
  const pick = (op) => (ops.length > 1 ? `${key}${op === "before" ? "Before" : "After"}` : key);
  return {
    ops, input,
    build: (op, v) => ({[group]: {[pick(op)]: input === "date" ? isoDate(v) : Number(v)}}),
    parse: (f) => {
      for (const [op] of ops) {
        if (only(f, group) && only(f[group], pick(op))) {
          const v = f[group][pick(op)];
          return {op, value: input === "date" ? dayOf(v) : v};
        }
      }
      return null;
    },
  };
}

function top(key, input, {ops = [["is", "is"]], list = false, options = null, scale = 1} = {}) {
  return {
    ops, input, options,
    build: (op, v) => {
      const name = typeof op === "string" && op.startsWith("=") ? op.slice(1) : key;
      return {[name]: list ? [v] : Number(v) / scale};
    },
    parse: (f) => {
      for (const [op] of ops) {
        const name = op.startsWith("=") ? op.slice(1) : key;
        if (only(f, name)) return {op, value: list ? f[name][0] : Math.round(f[name] * scale * 100) / 100};
      }
      return null;
    },
  };
}

/** kind -> {label, ops: [[value, label]], input: number|money|date|text|select, build, parse}. */
export const CONDITIONS = {
  orderCount: {label: "Orders: how many", ...range("orders", "count", true)},
  totalSpent: {label: "Orders: total spent", ...range("orders", "totalSpent", false)},
  orderOver: {label: "Orders: has one over", ...scalar("orders", "hasOrderOver", "money")},
  lastOrder: {label: "Orders: last order", ...scalar("orders", "lastOrder", "date", [BEFORE, AFTER])},
  interactionCount: {label: "Interactions: how many", ...range("interactions", "count", true)},
  quietDays: {label: "Interactions: none in the last N days", ...scalar("interactions", "noneWithinDays", "number")},
  noInbound: {label: "Interactions: none inbound in the last N days", ...scalar("interactions", "noInboundWithinDays", "number")},
  channel: {
    label: "Interactions: any on channel", ops: [["is", "is"]], input: "select", options: CHANNELS,
    build: (op, v) => ({interactions: {channels: [v]}}),
    parse: (f) => (only(f, "interactions") && only(f.interactions, "channels") ? {op: "is", value: f.interactions.channels[0]} : null),
  },
  churnRisk: {label: "Prediction: churn risk (%)", ...top("churn", "number",
    {ops: [["=minChurnRisk", "at least"], ["=maxChurnRisk", "at most"]], scale: 100})},
  expectedRevenue: {label: "Prediction: expected revenue at least", ...top("minExpectedRevenue", "money")},
  segment: {label: "Segment", ...top("segments", "select", {list: true})},
  stage: {label: "Stage", ...top("stages", "select", {list: true, options: STAGES})},
  country: {label: "Country (ISO code)", ...top("countries", "text", {list: true})},
  tag: {label: "Tag", ...top("tags", "text", {list: true})},
};

/** The builder state of a fragment: {kind, op, value}, or null when no condition reads it. */
export function parseCondition(fragment) {
  for (const [kind, condition] of Object.entries(CONDITIONS)) {
    const found = condition.parse(fragment);
    if (found) return {kind, ...found};
  }
  return null;
}
