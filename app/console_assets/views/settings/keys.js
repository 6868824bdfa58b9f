// API keys: the list, a new key (its secret shown once, here only), revoking.

import {gql} from "../../api.js";
import {errorBox, h, replace} from "../../dom.js";
import * as fmt from "../../format.js";
import {actionButton, dataTable, field, panel, showErrors} from "../../ui.js";

const KEY_FIELDS = "id name prefix scopes createdAt expiresAt revokedAt lastUsedAt active";
const KEYS = `query ConsoleApiKeys { apiKeys { ${KEY_FIELDS} } }`;
const CREATE = `mutation ConsoleCreateApiKey($name: String!, $scopes: [String!]!, $expiresAt: DateTime) {
  createApiKey(name: $name, scopes: $scopes, expiresAt: $expiresAt) {
    apiKey { ${KEY_FIELDS} } secret errors { code field message }
  }
}`;
const REVOKE = `mutation ConsoleRevokeApiKey($id: ID!) {
  revokeApiKey(id: $id) { apiKey { ${KEY_FIELDS} } errors { code field message } }
}`;
export const SCOPES = ["customers:read", "customers:write", "interactions:read", "interactions:write",
  "orders:read", "orders:write", "products:read", "products:write", "email:read", "email:send",
  "predictions:read", "pii:read", "companies:read", "companies:write", "deals:read", "deals:write",
  "tasks:read", "tasks:write", "admin"];

function keyRow(key, reload) {
  const state = key.revokedAt ? `revoked ${fmt.date(key.revokedAt)}` : key.active ? "active" : "expired";
  return h("tr", {dataset: {key: key.id}},
    h("th", {scope: "row"}, key.name), h("td", {}, h("code", {}, `${key.prefix}…`)),
    h("td", {}, key.scopes.join(", ")), h("td", {}, fmt.date(key.createdAt)),
    h("td", {}, key.lastUsedAt ? fmt.dateTime(key.lastUsedAt) : "never"),
    h("td", {class: "key-state"}, state),
    h("td", {}, key.revokedAt ? null : actionButton("Revoke", async () => {
      if (!window.confirm(`Revoke the key “${key.name}”? Requests with it are refused at once.`)) return;
      const {revokeApiKey: payload} = await gql(REVOKE, {id: key.id});
      if (!payload.errors.length) reload();
    }, {class: "link revoke"})));
}

function createForm(onCreated) {
  const name = h("input", {name: "name", type: "text", required: true, maxlength: 200});
  const scopes = h("fieldset", {class: "scopes"}, h("legend", {}, "Scopes"),
    SCOPES.map((s) => h("label", {}, h("input", {type: "checkbox", name: "scopes", value: s}), ` ${s}`)),
    h("span", {class: "field-error", id: "key-scopes-error", role: "alert"}));
  const expires = h("input", {name: "expiresAt", type: "date"});
  const general = h("div", {});
  const secret = h("div", {class: "secret", "aria-live": "polite"});
  const form = h("form", {class: "stacked create-key", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    replace(secret);
    const chosen = [...form.querySelectorAll("input[name=scopes]:checked")].map((i) => i.value);
    const {createApiKey: payload} = await gql(CREATE, {
      name: name.value, scopes: chosen,
      expiresAt: expires.value ? new Date(`${expires.value}T23:59:59Z`).toISOString() : null,
    });
    // the scope checkboxes share one error box (showErrors clears it first)
    const scopeErrors = payload.errors.filter((e) => e.field?.at(-1) === "scopes");
    const others = showErrors(form, payload.errors.filter((e) => !scopeErrors.includes(e)), general);
    form.querySelector("#key-scopes-error").textContent = scopeErrors.map((e) => e.message).join("; ");
    if (others || scopeErrors.length) return;
    form.reset();
    replace(secret, h("p", {}, h("strong", {}, "Copy this key now: it is shown only once.")),
      h("code", {class: "secret-value"}, payload.secret), " ",
      actionButton("Copy", () => navigator.clipboard?.writeText(payload.secret), {class: "link"}),
      actionButton("Done", () => replace(secret), {class: "link"}));
    onCreated();
  }},
  field("Name", name), scopes, field("Expires (optional)", expires),
  h("button", {type: "submit"}, "Create key"), general, secret);
  return form;
}

export async function render(root) {
  const list = h("div", {});
  async function reload() {
    try {
      const {apiKeys} = await gql(KEYS);
      replace(list, apiKeys.length ? dataTable(
        ["Name", "Key", "Scopes", "Created", "Last used", "State", ""], apiKeys.map((k) => keyRow(k, reload)),
        {className: "api-keys"}) : h("p", {class: "note"}, "No API keys yet."));
    } catch (error) {
      replace(list, errorBox(error));
    }
  }
  replace(root, panel("API keys", h("p", {class: "note"},
    "Keys let a partner system call the API with the scopes you grant; the secret is shown once."),
  list, h("h4", {}, "New key"), createForm(reload)));
  await reload();
}
