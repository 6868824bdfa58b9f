// Small pieces every view uses: panels, data tables, payload errors shown beside their inputs.

import {h, replace} from "./dom.js";

/** A titled panel (<section> labelled by its heading). */
export function panel(title, ...children) {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return h("section", {class: "panel", "aria-labelledby": id}, h("h3", {id}, title), ...children);
}

/** A data table: ``columns`` are header texts, ``rows`` arrays of cells (first is a row header). */
export function dataTable(columns, rows, {className = "", caption = null, numeric = []} = {}) {
  return h("table", {class: `data ${className}`},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c, i) =>
      h("th", {scope: "col", class: numeric.includes(i) ? "num" : null}, c)))),
    h("tbody", {}, rows.map((row) => row instanceof Node ? row : h("tr", {}, row.map((cell, i) =>
      i === 0 ? h("th", {scope: "row"}, cell)
        : h("td", {class: numeric.includes(i) ? "num" : null}, cell))))));
}

/** A labelled input; ``control`` is an <input>, <select> or <textarea> with a name. */
export function field(label, control, hint = null) {
  control.id ||= `f-${Math.random().toString(36).slice(2, 9)}`;
  const error = h("span", {class: "field-error", id: `${control.id}-error`, role: "alert"});
  return h("div", {class: "field"}, h("label", {for: control.id}, label), control,
    hint ? h("span", {class: "note"}, hint) : null, error);
}

/**
 * Shows a payload's ``errors`` ({code, field, message}) inside ``form``: each beside the control
 * whose name is the last part of its field path, the rest in ``general``. Returns true when any.
 */
export function showErrors(form, errors, general) {
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  for (const box of form.querySelectorAll(".field-error")) box.textContent = "";
  replace(general);
  const rest = [];
  for (const error of errors) {
    const name = error.field ? error.field[error.field.length - 1] : null;
    const control = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    if (!control) {
      rest.push(error.message);
      continue;
    }
    control.setAttribute("aria-invalid", "true");
    const box = form.querySelector(`#${CSS.escape(control.id)}-error`);
    control.setAttribute("aria-describedby", box ? box.id : "");
    if (box) box.textContent = box.textContent ? `${box.textContent}; ${error.message}` : error.message;
  }
  if (rest.length) general.append(h("p", {class: "error", role: "alert"}, rest.join("; ")));
  return errors.length > 0;
}

/** A button that runs ``action`` once at a time (disabled meanwhile). */
export function actionButton(text, action, attrs = {}) {
  const button = h("button", {type: "button", ...attrs, onclick: async () => {
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  }}, text);
  return button;
}
