// One profile field with inline edit: updateCustomer with just that field, and the API's
// field errors shown beside the input.

import {gql} from "../api.js";
import {h, replace} from "../dom.js";
import * as fmt from "../format.js";

const UPDATE = `mutation ConsoleUpdateCustomer($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) {
    customer { id name email phone company stage updatedAt }
    errors { code field message }
  }
}`;

function shown(name, value) {
  if (value === null || value === undefined || value === "") return "–";
  return name === "stage" ? fmt.words(value) : value;
}

/** A <dt>/<dd> pair for ``customer[name]`` that turns into a form when "Edit" is pressed. */
export function editableField(customer, name, label, {type = "text", options = null, required = false}) {
  const id = `field-${name}`;
  const dd = h("dd", {class: "editable", dataset: {field: name}});

  function view() {
    replace(dd, h("span", {class: "value", id}, shown(name, customer[name])), " ",
      h("button", {type: "button", class: "link edit", "aria-label": `Edit ${label.toLowerCase()}`,
                   onclick: edit}, "Edit"));
  }

  function edit() {
    const input = options
      ? h("select", {id: `${id}-input`, name}, options.map((o) => h("option", {value: o, selected: o === customer[name]}, fmt.words(o))))
      : h("input", {id: `${id}-input`, name, type, value: customer[name] || "", required});
    const error = h("p", {class: "field-error", id: `${id}-error`, role: "alert"});
    const save = h("button", {type: "submit"}, "Save");
    const form = h("form", {class: "inline-edit", novalidate: true, onsubmit: async (event) => {
      event.preventDefault();
      save.disabled = true;
      error.textContent = "";
      input.removeAttribute("aria-invalid");
      const value = input.value.trim();
      try {
        const {updateCustomer: payload} = await gql(UPDATE, {input: {id: customer.id, [name]: value === "" && !required ? null : value}});
        if (payload.errors.length) {
          const mine = payload.errors.filter((e) => !e.field || e.field[e.field.length - 1] === name);
          error.textContent = (mine.length ? mine : payload.errors).map((e) => e.message).join("; ");
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", error.id);
          input.focus();
        } else {
          Object.assign(customer, payload.customer);
          dd.dispatchEvent(new CustomEvent("customer-updated", {bubbles: true, detail: payload.customer}));
          view();
        }
      } catch (failure) {
        error.textContent = failure.message;
      } finally {
        save.disabled = false;
      }
    }},
    h("label", {for: input.id, class: "visually-hidden"}, label), input, save,
    h("button", {type: "button", class: "link", onclick: view}, "Cancel"), error);
    replace(dd, form);
    input.focus();
  }

  view();
  return [h("dt", {}, label), dd];
}
