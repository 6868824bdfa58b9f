// Duplicates of a customer (customerDuplicates), what a merge would change
// (mergeCustomersPreview: every field's outcome and what moves), and the merge itself.

import {gql} from "../api.js";
import {errorBox, h, replace} from "../dom.js";
import * as fmt from "../format.js";
import {actionButton, dataTable, panel} from "../ui.js";

const DUPLICATES = `query ConsoleDuplicates($id: ID!) {
  customerDuplicates(customerId: $id, first: 5) {
    score reasons { signal similarity } customer { id name email phone company orderCount }
  }
}`;
const PREVIEW = `query ConsoleMergePreview($primary: ID!, $duplicates: [ID!]!) {
  mergeCustomersPreview(primaryId: $primary, duplicateIds: $duplicates) {
    merged { name email phone company stage tags emailOptOut }
    conflicts { field primaryValue duplicateValues { customerId value } value chosenFrom rule }
    moves { interactions orders emailMessages emailMessagesKept emailSuppressions predictionsDropped }
  }
}`;
const MERGE = `mutation ConsoleMerge($input: MergeCustomersInput!) {
  mergeCustomers(input: $input) { customer { id } absorbedIds errors { code field message } }
}`;

function shown(value) {
  if (value === null || value === undefined || value === "") return "–";
  if (Array.isArray(value)) return value.join(", ") || "–";
  if (typeof value === "object") return Object.values(value).filter(Boolean).join(", ") || "–";
  return String(value);
}

const COMPARED = [["name", "Name"], ["email", "Email"], ["phone", "Phone"], ["company", "Company"],
  ["stage", "Stage"], ["tags", "Tags"], ["emailOptOut", "Email opt-out"]];

/** Rows of what changes on ``customer`` (the primary) when the merge runs. */
function changes(customer, merged) {
  return COMPARED.filter(([key]) => shown(customer[key]) !== shown(merged[key]))
    .map(([key, label]) => h("tr", {dataset: {field: key}}, h("th", {scope: "row"}, label),
      h("td", {}, shown(customer[key])), h("td", {}, h("strong", {class: "changed"}, shown(merged[key])))));
}

function previewTable(preview, customer) {
  const primaryId = customer.id;
  const changed = changes(customer, preview.merged);
  const m = preview.moves;
  const moves = [["Interactions", m.interactions], ["Orders", m.orders], ["Emails", m.emailMessages],
    ["Email suppressions", m.emailSuppressions], ["Predictions dropped", m.predictionsDropped]]
    .filter(([, n]) => n).map(([label, n]) => `${label}: ${fmt.number(n)}`);
  return h("div", {class: "merge-preview"},
    changed.length ? dataTable(["Field", "Now", "After the merge"], changed,
      {className: "merge-changes", caption: "What changes on this customer"})
      : h("p", {class: "note"}, "This customer's fields stay as they are."),
    preview.conflicts.length ? dataTable(["Field", "This customer", "Duplicate", "After the merge", "Why"],
      preview.conflicts.map((c) => [c.field, shown(c.primaryValue),
        c.duplicateValues.map((d) => shown(d.value)).join(" / "),
        h("strong", {class: c.chosenFrom === primaryId ? null : "changed"}, shown(c.value)), fmt.words(c.rule)]),
      {className: "merge-conflicts", caption: "Values that differ, and which one the merge keeps"})
      : null,
    h("p", {class: "merge-moves"}, moves.length ? `Moves to this customer: ${moves.join(" · ")}` : "Nothing else moves."));
}

function candidate(customer, d, done, canMerge) {
  const primaryId = customer.id;
  const out = h("div", {});
  return h("li", {class: "duplicate", dataset: {id: d.customer.id}},
    h("a", {href: `#/customers/${encodeURIComponent(d.customer.id)}`}, d.customer.name), " ",
    h("span", {class: "muted"}, `${shown(d.customer.email)} · ${fmt.number(d.customer.orderCount)} orders · score ${fmt.percent(d.score)}`),
    h("ul", {class: "reasons"}, d.reasons.map((r) => h("li", {class: "reason"}, `${fmt.words(r.signal)} ${fmt.percent(r.similarity)}`))),
    actionButton("Preview merge", async () => {
      try {
        const {mergeCustomersPreview: preview} = await gql(PREVIEW, {primary: primaryId, duplicates: [d.customer.id]});
        replace(out, previewTable(preview, customer), canMerge ? actionButton("Merge into this customer", async () => {
          const {mergeCustomers: payload} = await gql(MERGE, {input: {primaryId, duplicateIds: [d.customer.id]}});
          if (payload.errors.length) replace(out, errorBox(payload.errors.map((e) => e.message).join("; ")));
          else done();
        }, {class: "merge"}) : h("p", {class: "note"}, "Merging needs a manager."));
      } catch (error) {
        replace(out, errorBox(error));
      }
    }, {class: "link preview-merge"}), out);
}

/** The panel; ``merged()`` runs after a merge (the caller redraws the customer). */
export function duplicatesPanel(customer, merged, {canMerge = true} = {}) {
  const body = h("div", {}, h("p", {class: "loading"}, "Looking for duplicates…"));
  gql(DUPLICATES, {id: customer.id}).then(({customerDuplicates: found}) => {
    replace(body, found.length ? h("ul", {class: "duplicates"}, found.map((d) => candidate(customer, d, merged, canMerge)))
      : h("p", {class: "note"}, "No likely duplicates."));
  }).catch((error) => replace(body, errorBox(error)));
  return panel("Duplicates", body);
}
