// Settings for admins: users, API keys, webhooks, email templates (#/settings/<tab>).

import {h, replace} from "../dom.js";
import * as keys from "./settings/keys.js";
import * as templates from "./settings/templates.js";
import * as users from "./settings/users.js";
import * as webhooks from "./settings/webhooks.js";

const TABS = [["users", "Users", users], ["api-keys", "API keys", keys],
              ["webhooks", "Webhooks", webhooks], ["templates", "Email templates", templates]];

export async function render(root, tab, isAdmin) {
  if (!isAdmin) {
    replace(root, h("h2", {}, "Settings"), h("p", {class: "error"}, "Settings are for admins."));
    return;
  }
  const [name, , view] = TABS.find(([key]) => key === tab) || TABS[0];
  const body = h("div", {class: "settings-body"});
  replace(root, h("h2", {}, "Settings"),
    h("nav", {class: "tabs", "aria-label": "Settings"}, TABS.map(([key, label]) =>
      h("a", {href: `#/settings/${key}`, "aria-current": key === name ? "page" : null}, label))),
    body);
  await view.render(body);
}
