// The customer list: search, the filter builder (and/or/not over orders, interactions,
// predictions, segments), orderings, cursor paging on scroll, saved views (per user, through
// savedViews/saveView/deleteView) and CSV export of the current filter.

import {gql} from "../api.js";
import {errorBox, h, replace} from "../dom.js";
import * as fmt from "../format.js";
import {exportCsv, download} from "./customer_csv.js";
import {emptyGroup, filterBuilder, fromFilter, toFilter} from "./filter_builder.js";
import {savedViewsBar} from "./saved_views.js";

const PAGE_SIZE = 25;
const CUSTOMERS = `query ConsoleCustomers($first: Int!, $after: String, $filter: CustomerFilter,
                                 $orderBy: CustomerOrderBy!) {
  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id name email company stage lastOrderAt
      lifetimeValue { amount currency }
      prediction { churnRisk segment }
    }
  }
}`;
const SEGMENTS = "query ConsoleSegmentNames { segments { name } }";

export const ORDERINGS = [
  ["CREATED_AT_DESC", "Newest"], ["CREATED_AT_ASC", "Oldest"], ["NAME_ASC", "Name A–Z"],
  ["NAME_DESC", "Name Z–A"], ["UPDATED_AT_DESC", "Recently updated"],
  ["CHURN_RISK_DESC", "Churn risk, highest first"], ["CHURN_RISK_ASC", "Churn risk, lowest first"],
  ["EXPECTED_REVENUE_DESC", "Expected revenue"],
];

function row(c) {
  const value = c.lifetimeValue.find((m) => m.currency === fmt.orgCurrency()) || c.lifetimeValue[0];
  return h("tr", {dataset: {id: c.id}},
    h("th", {scope: "row"}, h("a", {href: `#/customers/${encodeURIComponent(c.id)}`}, c.name)),
    h("td", {}, c.email || "–"), h("td", {}, c.company || "–"),
    h("td", {}, h("span", {class: `stage ${c.stage.toLowerCase()}`}, fmt.words(c.stage))),
    h("td", {class: "num"}, value ? fmt.money(value.amount, value.currency) : "–"),
    h("td", {}, fmt.date(c.lastOrderAt)),
    h("td", {class: "num"}, c.prediction ? fmt.percent(c.prediction.churnRisk) : "–"),
    h("td", {}, c.prediction?.segment || "–"));
}

/** The list's whole filter: the builder's, and the search text. */
function currentFilter(state, search) {
  const text = search.value.trim();
  const built = toFilter(state.group);
  const filter = text ? {...built, search: text} : built;
  return Object.keys(filter).length ? filter : null;
}

export function render(root, params = new URLSearchParams()) {
  let generation = 0; // a newer query makes older answers stale
  let cursor = null;
  let loading = false;
  const state = {group: emptyGroup()};
  const search = h("input", {type: "search", id: "customer-search", placeholder: "Name, email, phone, company",
                             "aria-label": "Search customers"});
  const order = h("select", {id: "customer-order", "aria-label": "Order by"},
    ORDERINGS.map(([value, label]) => h("option", {value}, label)));
  const total = h("p", {class: "muted customer-total", "aria-live": "polite"});
  const body = h("tbody", {});
  const more = h("button", {type: "button", class: "more", hidden: true, onclick: () => load(false)}, "Load more");
  const message = h("div", {});
  const options = {segments: []};
  let debounce = null;
  const later = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => load(true), 300);
  };
  const builder = filterBuilder(state, options, later);

  async function load(reset) {
    if (loading && !reset) return;
    const mine = reset ? ++generation : generation;
    if (reset) cursor = null;
    loading = true;
    try {
      const {customers} = await gql(CUSTOMERS, {
        first: PAGE_SIZE, after: cursor, orderBy: order.value, filter: currentFilter(state, search),
      });
      if (mine !== generation) return;
      if (reset) replace(body);
      replace(message);
      body.append(...customers.nodes.map(row));
      cursor = customers.pageInfo.endCursor;
      more.hidden = !customers.pageInfo.hasNextPage;
      total.textContent = `${fmt.number(customers.totalCount)} customers`;
      total.dataset.count = customers.totalCount;
    } catch (error) {
      if (mine === generation) replace(message, errorBox(error));
    } finally {
      if (mine === generation) loading = false;
    }
  }

  /** Shows a saved view's filter and order (a filter the builder cannot read is refused). */
  function apply(view) {
    const {search: text = "", ...rest} = view ? view.filter : {};
    const group = fromFilter(rest);
    if (!group) {
      replace(message, errorBox(`The view “${view.name}” uses a filter this builder cannot show.`));
      return;
    }
    state.group = group;
    search.value = text;
    order.value = view ? view.orderBy : "CREATED_AT_DESC";
    builder.redraw();
    load(true);
  }

  const views = savedViewsBar({
    current: () => ({filter: currentFilter(state, search) || {}, orderBy: order.value}),
    apply, selected: params.get("view"),
  });
  const exporting = h("span", {class: "muted", role: "status"});
  const exportButton = h("button", {type: "button", class: "export", onclick: async () => {
    exportButton.disabled = true;
    try {
      const text = await exportCsv(currentFilter(state, search), order.value,
        (n) => { exporting.textContent = `${fmt.number(n)} exported…`; });
      download(text, "customers.csv");
      exporting.textContent = "CSV ready.";
    } catch (error) {
      replace(message, errorBox(error));
    } finally {
      exportButton.disabled = false;
    }
  }}, "Export CSV");

  search.addEventListener("input", later);
  order.addEventListener("change", () => load(true));
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && !more.hidden) load(false);
  });
  observer.observe(more);

  replace(root,
    h("h2", {}, "Customers"),
    h("div", {class: "toolbar"}, search, order, exportButton, exporting),
    views.node,
    h("details", {class: "panel filter-panel", open: true},
      h("summary", {}, "Filter"), builder.node),
    total,
    h("table", {class: "data customers"},
      h("thead", {}, h("tr", {}, ["Name", "Email", "Company", "Stage", "Lifetime value", "Last order", "Churn risk", "Segment"]
        .map((c) => h("th", {scope: "col"}, c)))),
      body),
    message, more);
  gql(SEGMENTS).then(({segments}) => {
    options.segments = segments.map((s) => s.name);
    builder.redraw();
  }).catch(() => {});
  views.load().then((view) => (view ? apply(view) : load(true)));
  return () => {
    observer.disconnect();
    clearTimeout(debounce);
  };
}
