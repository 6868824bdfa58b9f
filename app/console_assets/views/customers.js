// The customer list: search, ordering, cursor paging (a "Load more" button, also pressed by
// scrolling to the end of the list).

import {gql} from "../api.js";
import {errorBox, h, replace} from "../dom.js";
import * as fmt from "../format.js";

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

const ORDERINGS = [
  ["CREATED_AT_DESC", "Newest"], ["NAME_ASC", "Name A–Z"], ["UPDATED_AT_DESC", "Recently updated"],
  ["CHURN_RISK_DESC", "Churn risk, highest first"], ["EXPECTED_REVENUE_DESC", "Expected revenue"],
];

function row(c) {
  const value = c.lifetimeValue.find((m) => m.currency === fmt.orgCurrency()) || c.lifetimeValue[0];
  return h("tr", {},
    h("th", {scope: "row"}, h("a", {href: `#/customers/${encodeURIComponent(c.id)}`}, c.name)),
    h("td", {}, c.email || "–"), h("td", {}, c.company || "–"),
    h("td", {}, h("span", {class: `stage ${c.stage.toLowerCase()}`}, fmt.words(c.stage))),
    h("td", {class: "num"}, value ? fmt.money(value.amount, value.currency) : "–"),
    h("td", {}, fmt.date(c.lastOrderAt)),
    h("td", {class: "num"}, c.prediction ? fmt.percent(c.prediction.churnRisk) : "–"),
    h("td", {}, c.prediction?.segment || "–"));
}

export function render(root) {
  let generation = 0; // a newer search makes older answers stale
  let cursor = null;
  let loading = false;
  const search = h("input", {type: "search", id: "customer-search", placeholder: "Name, email, phone, company",
                             "aria-label": "Search customers"});
  const order = h("select", {id: "customer-order", "aria-label": "Order by"},
    ORDERINGS.map(([value, label]) => h("option", {value}, label)));
  const total = h("p", {class: "muted", "aria-live": "polite"});
  const body = h("tbody", {});
  const more = h("button", {type: "button", class: "more", hidden: true, onclick: () => load(false)}, "Load more");
  const message = h("div", {});

  async function load(reset) {
    if (loading && !reset) return;
    const mine = reset ? ++generation : generation;
    if (reset) cursor = null;
    loading = true;
    const text = search.value.trim();
    try {
      const {customers} = await gql(CUSTOMERS, {
        first: PAGE_SIZE, after: cursor, orderBy: order.value,
        filter: text ? {search: text} : null,
      });
      if (mine !== generation) return;
      if (reset) replace(body);
      replace(message);
      body.append(...customers.nodes.map(row));
      cursor = customers.pageInfo.endCursor;
      more.hidden = !customers.pageInfo.hasNextPage;
      total.textContent = `${fmt.number(customers.totalCount)} customers`;
    } catch (error) {
      if (mine === generation) replace(message, errorBox(error));
    } finally {
      if (mine === generation) loading = false;
    }
  }

  let debounce = null;
  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => load(true), 250);
  });
  order.addEventListener("change", () => load(true));
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && !more.hidden) load(false);
  });
  observer.observe(more);

  replace(root,
    h("h2", {}, "Customers"),
    h("div", {class: "toolbar"}, search, order), total,
    h("table", {class: "data customers"},
      h("thead", {}, h("tr", {}, ["Name", "Email", "Company", "Stage", "Lifetime value", "Last order", "Churn risk", "Segment"]
        .map((c) => h("th", {scope: "col"}, c)))),
      body),
    message, more);
  load(true);
  return () => {
    observer.disconnect();
    clearTimeout(debounce);
  };
}
