// The console's entry: sign-in state, the shell (navigation, sign-out) and the router over
// the URL fragment: #/dashboard, #/customers, #/customers/<id>, #/settings/<tab>, and the pages
// emailed links open (#/invitation?token=..., #/reset-password?token=...).

import {gql} from "./api.js";
import {errorBox, h, replace} from "./dom.js";
import {setCurrency} from "./format.js";
import {disconnect} from "./live.js";
import {accessToken, logout, onChange} from "./session.js";
import * as accountLink from "./views/account_link.js";
import * as customer from "./views/customer.js";
import * as customers from "./views/customers.js";
import * as dashboard from "./views/dashboard.js";
import * as login from "./views/login.js";
import * as settings from "./views/settings.js";

const VIEWER = `query ConsoleViewer {
  viewer { user { id name email role } organization { name currency } }
}`;

const root = document.getElementById("app");
let viewer = null;
let cleanup = null;

function route() {
  const [path, query = ""] = window.location.hash.split("?");
  const [, section = "dashboard", id] = path.split("/");
  if (section === "customers" && id) return {name: "customer", id: decodeURIComponent(id)};
  if (section === "customers") return {name: "customers", params: new URLSearchParams(query)};
  if (section === "settings") return {name: "settings", id};
  if (section === "invitation" || section === "reset-password") {
    return {name: section, token: new URLSearchParams(query).get("token") || ""};
  }
  return {name: "dashboard"};
}

function shell(user, organization) {
  const view = h("main", {id: "view", tabindex: "-1"});
  const link = (href, text, name) => h("a", {href, dataset: {route: name}}, text);
  replace(root,
    h("header", {class: "top"},
      h("span", {class: "brand"}, organization.name),
      h("nav", {"aria-label": "Main"}, link("#/dashboard", "Dashboard", "dashboard"),
        link("#/customers", "Customers", "customers"),
        user.role === "ADMIN" ? link("#/settings", "Settings", "settings") : null),
      h("span", {class: "user"}, `${user.name} (${user.role.toLowerCase()})`),
      h("button", {type: "button", class: "logout", onclick: () => logout()}, "Sign out")),
    view);
  return view;
}

async function show() {
  cleanup?.();
  cleanup = null;
  const linked = route();
  if (linked.token !== undefined) {  // an emailed link: signed in or not, its page
    viewer = null;
    accountLink.render(root, linked.name, linked.token);
    return;
  }
  if (!accessToken()) {
    viewer = null;
    disconnect();
    login.render(root);
    return;
  }
  if (!viewer) {
    try {
      ({viewer} = await gql(VIEWER));
    } catch (error) {
      replace(root, errorBox(error));
      return;
    }
    setCurrency(viewer.organization.currency);
  }
  const view = document.getElementById("view") || shell(viewer.user, viewer.organization);
  const current = route();
  for (const a of root.querySelectorAll("nav a")) {
    const active = a.dataset.route === current.name || (current.name === "customer" && a.dataset.route === "customers");
    if (active) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const isAdmin = viewer.user.role === "ADMIN";
  if (current.name === "customer") cleanup = await customer.render(view, current.id, {role: viewer.user.role, me: viewer.user.id});
  else if (current.name === "settings") await settings.render(view, current.id, isAdmin);
  else if (current.name === "customers") cleanup = customers.render(view, current.params);
  else cleanup = await dashboard.render(view);
}

// one redraw at a time, in the order asked for
let drawing = Promise.resolve();
function redraw() {
  drawing = drawing.then(show, show);
}

window.addEventListener("hashchange", redraw);
onChange((session) => {
  // sign-in and sign-out redraw; a refresh only swaps the tokens
  if (!session || !viewer) redraw();
});
redraw();
