// Users of the organization.
//
// The team through the API (issue 16): `users` (MANAGER and up), `inviteUser`, `updateUserRole`
// and `deactivateUser` (ADMIN). The view asks the schema (introspection) which of them the
// signed-in user's server has and shows their controls only then; without a `users` query the
// list is the signed-in user and the users who own customers (customerStats grouped by OWNER).

import {gql} from "../../api.js";
import {errorBox, h, replace} from "../../dom.js";
import * as fmt from "../../format.js";
import {actionButton, dataTable, field, panel, showErrors} from "../../ui.js";

const ROLES = ["ADMIN", "MANAGER", "AGENT", "VIEWER"];
const CAPABILITIES = `query ConsoleUserCapabilities {
  query: __type(name: "Query") { fields { name } }
  mutation: __type(name: "Mutation") { fields { name } }
}`;
const USER_FIELDS = "id name email role isActive createdAt";
const OWNERS = `query ConsoleOwners {
  viewer { user { ${USER_FIELDS} } }
  customerStats(groupBy: [OWNER]) { groups { count owner { ${USER_FIELDS} } } }
}`;
const USERS = `query ConsoleUsers { users(first: 100) { nodes { ${USER_FIELDS} } } }`;
// the invitee chooses their name and password when they accept the emailed link
const INVITE = `mutation ConsoleInviteUser($email: String!, $role: Role!) {
  inviteUser(email: $email, role: $role) { errors { code field message } }
}`;
const SET_ROLE = `mutation ConsoleUpdateUserRole($id: ID!, $role: Role!) {
  updateUserRole(id: $id, role: $role) { user { id role } errors { code field message } }
}`;
const DEACTIVATE = `mutation ConsoleDeactivateUser($id: ID!) {
  deactivateUser(id: $id) { user { id isActive } errors { code field message } }
}`;

async function capabilities() {
  const {query, mutation} = await gql(CAPABILITIES);
  return new Set([...query.fields, ...(mutation?.fields || [])].map((f) => f.name));
}

async function listUsers(can) {
  if (can.has("users")) return (await gql(USERS)).users.nodes;
  const {viewer, customerStats} = await gql(OWNERS);
  const byId = new Map([[viewer.user.id, {...viewer.user, customers: 0}]]);
  for (const group of customerStats.groups) {
    if (!group.owner) continue;
    const known = byId.get(group.owner.id) || {...group.owner, customers: 0};
    byId.set(group.owner.id, {...known, customers: known.customers + group.count});
  }
  return [...byId.values()];
}

function roleControl(user, can, reload) {
  if (!can.has("updateUserRole")) return fmt.words(user.role);
  return h("select", {"aria-label": `Role of ${user.name}`, onchange: async (event) => {
    const {updateUserRole: payload} = await gql(SET_ROLE, {id: user.id, role: event.target.value});
    if (payload.errors.length) window.alert(payload.errors.map((e) => e.message).join("\n"));
    await reload();
  }}, ROLES.map((r) => h("option", {value: r, selected: r === user.role}, fmt.words(r))));
}

function inviteForm(reload) {
  const email = h("input", {name: "email", type: "email", required: true});
  const role = h("select", {name: "role"}, ROLES.map((r) => h("option", {value: r, selected: r === "AGENT"}, fmt.words(r))));
  const general = h("div", {});
  const form = h("form", {class: "stacked", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const {inviteUser: payload} = await gql(INVITE, {email: email.value, role: role.value});
    if (showErrors(form, payload.errors, general)) return;
    form.reset();
    await reload();
  }}, field("Email", email), field("Role", role),
  h("button", {type: "submit"}, "Invite"), general);
  return form;
}

export async function render(root) {
  const list = h("div", {});
  const can = await capabilities();
  async function reload() {
    try {
      const users = await listUsers(can);
      replace(list, dataTable(["Name", "Email", "Role", "Active", "Customers owned", ""],
        users.map((u) => [u.name, u.email, roleControl(u, can, reload), u.isActive ? "yes" : "no",
          u.customers === undefined ? "–" : fmt.number(u.customers),
          can.has("deactivateUser") && u.isActive ? actionButton("Deactivate", async () => {
            if (!window.confirm(`Deactivate ${u.name}? They can no longer sign in.`)) return;
            const {deactivateUser: payload} = await gql(DEACTIVATE, {id: u.id});
            if (payload.errors.length) window.alert(payload.errors.map((e) => e.message).join("\n"));
            await reload();
          }, {class: "link danger"}) : ""]), {className: "users", numeric: [4]}));
    } catch (error) {
      replace(list, errorBox(error));
    }
  }
  replace(root, panel("Users",
    can.has("users") ? null : h("p", {class: "note"},
      "The API has no user list yet: shown are you and the users who own customers. Users are added with `crm users create`."),
    list, can.has("inviteUser") ? [h("h4", {}, "Invite a user"), inviteForm(reload)] : null));
  await reload();
}
