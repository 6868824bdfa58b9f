// CSV export of the customers a filter matches, in the import format of `crm import customers`
// (the same columns `crm export customers` writes), paged through the API.

import {gql} from "../api.js";

const PAGE = 100; // the API's largest page
export const COLUMNS = ["external_ref", "name", "email", "phone", "company", "street", "city", "region",
  "postal_code", "country", "stage", "kind", "tags", "email_opt_out"];
const EXPORT = `query ConsoleExport($first: Int!, $after: String, $filter: CustomerFilter,
                               $orderBy: CustomerOrderBy!) {
  customers(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    pageInfo { hasNextPage endCursor }
    nodes { externalRef name email phone company stage kind tags emailOptOut
            address { street city region postalCode country } }
  }
}`;

function cells(c) {
  const a = c.address;
  return [c.externalRef, c.name, c.email, c.phone, c.company, a.street, a.city, a.region, a.postalCode,
    a.country, c.stage, c.kind, c.tags.join(";"), c.emailOptOut ? "true" : "false"];
}

function quote(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The CSV text of every customer ``filter`` matches; ``progress(count)`` after each page. */
export async function exportCsv(filter, orderBy, progress = () => {}) {
  const lines = [COLUMNS.join(",")];
  let after = null;
  for (;;) {
    const {customers} = await gql(EXPORT, {first: PAGE, after, filter, orderBy});
    for (const c of customers.nodes) lines.push(cells(c).map(quote).join(","));
    progress(lines.length - 1);
    if (!customers.pageInfo.hasNextPage) break;
    after = customers.pageInfo.endCursor;
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** Offers ``text`` as a download named ``name``. */
export function download(text, name) {
  const url = URL.createObjectURL(new Blob([text], {type: "text/csv;charset=utf-8"}));
  const link = Object.assign(document.createElement("a"), {href: url, download: name});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
