// Saved views of the customer list: the signed-in user's own, kept by the API (savedViews,
// saveView, deleteView); the chosen one is in the address (#/customers?view=<id>).

import {gql} from "../api.js";
import {h, replace} from "../dom.js";

const VIEW_FIELDS = "id name filter orderBy updatedAt";
const VIEWS = `query ConsoleSavedViews { savedViews { ${VIEW_FIELDS} } }`;
const SAVE = `mutation ConsoleSaveView($input: SaveViewInput!) {
  saveView(input: $input) { view { ${VIEW_FIELDS} } errors { code field message } }
}`;
const DELETE = `mutation ConsoleDeleteView($id: ID!) { deleteView(id: $id) { errors { message } } }`;

/**
 * The bar: a view picker, "Save view as…" and "Delete". ``current()`` gives {filter, orderBy}
 * to save; ``apply(viewOrNull)`` shows one. ``load()`` resolves to the view named in the address.
 */
export function savedViewsBar({current, apply, selected}) {
  let views = [];
  const picker = h("select", {id: "saved-view", "aria-label": "Saved view", onchange: () => choose(picker.value)});
  const name = h("input", {type: "text", id: "saved-view-name", name: "name", placeholder: "View name",
                           "aria-label": "New view name", maxlength: 100});
  const message = h("span", {class: "field-error", id: "saved-view-name-error", role: "alert"});
  const remove = h("button", {type: "button", class: "link delete-view", hidden: true, onclick: async () => {
    const view = views.find((v) => v.id === picker.value);
    if (!view || !window.confirm(`Delete the view “${view.name}”?`)) return;
    await gql(DELETE, {id: view.id});
    await load();
    choose("");
  }}, "Delete view");

  function fill(chosen) {
    replace(picker, h("option", {value: ""}, "All customers"),
      views.map((v) => h("option", {value: v.id, selected: v.id === chosen}, v.name)));
    remove.hidden = !chosen;
  }

  function choose(id) {
    const view = views.find((v) => v.id === id) || null;
    history.replaceState(null, "", view ? `#/customers?view=${encodeURIComponent(view.id)}` : "#/customers");
    remove.hidden = !view;
    apply(view);
  }

  async function load() {
    ({savedViews: views} = await gql(VIEWS));
    const view = views.find((v) => v.id === selected) || null;
    fill(view ? view.id : picker.value);
    return view;
  }

  const form = h("form", {class: "save-view", onsubmit: async (event) => {
    event.preventDefault();
    message.textContent = "";
    name.removeAttribute("aria-invalid");
    const {saveView: payload} = await gql(SAVE, {input: {name: name.value, ...current()}});
    if (payload.errors.length) {
      message.textContent = payload.errors.map((e) => e.message).join("; ");
      name.setAttribute("aria-invalid", "true");
      return;
    }
    name.value = "";
    selected = payload.view.id;
    await load();
    history.replaceState(null, "", `#/customers?view=${encodeURIComponent(payload.view.id)}`);
  }}, name, h("button", {type: "submit"}, "Save view"), message);

  return {node: h("div", {class: "toolbar saved-views"}, picker, remove, form), load};
}
