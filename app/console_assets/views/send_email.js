// Send an email to the customer: a template with variables or a written message, a server
// preview, then sendEmail; the new email joins the timeline and its status follows live.

import {gql} from "../api.js";
import {errorBox, h, replace} from "../dom.js";
import {field, panel, showErrors} from "../ui.js";
import {previewBox} from "./email_preview.js";

const TEMPLATES = "query ConsoleTemplateNames { emailTemplates(first: 100) { nodes { id name } } }";

/** ``send`` is customer.js's sendEmail (it adds the interaction to the timeline). */
export function sendEmailPanel(customer, send) {
  const template = h("select", {name: "templateId", id: "email-template"}, h("option", {value: ""}, "Write a message"));
  const subject = h("input", {name: "subject", id: "email-subject", type: "text"});
  const text = h("textarea", {name: "text", id: "email-text", rows: 4});
  const variables = h("textarea", {name: "variables", id: "email-variables", rows: 2, placeholder: '{"offer": "10% off"}'});
  const written = h("div", {}, field("Subject", subject), field("Message", text));
  const templated = h("div", {hidden: true}, field("Variables (JSON)", variables));
  const general = h("div", {});
  const preview = h("div", {});
  template.addEventListener("change", () => {
    written.hidden = Boolean(template.value);
    templated.hidden = !template.value;
  });
  gql(TEMPLATES).then(({emailTemplates}) => template.append(
    ...emailTemplates.nodes.map((t) => h("option", {value: t.id}, t.name)))).catch(() => {});

  function input() {
    const base = {customerId: customer.id};
    if (!template.value) return {...base, subject: subject.value, text: text.value};
    const vars = variables.value.trim() ? JSON.parse(variables.value) : null;
    return {...base, templateId: template.value, variables: vars};
  }

  const form = h("form", {class: "stacked send-email", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    let given;
    try {
      given = input();
    } catch (error) {
      showErrors(form, [{field: ["input", "variables"], message: `not JSON: ${error.message}`}], general);
      return;
    }
    const payload = await send(given);
    if (showErrors(form, payload.errors, general)) return;
    form.reset();
    written.hidden = false;
    templated.hidden = true;
    replace(preview);
    replace(general, h("p", {class: "note", role: "status"}, `Email ${payload.email.status.toLowerCase()}: its status follows on the timeline.`),
      payload.warnings.map((w) => h("p", {class: "note"}, w)));
  }},
  field("Template", template), written, templated,
  h("div", {class: "toolbar"},
    h("button", {type: "button", class: "link preview-email", onclick: async () => {
      try {
        replace(preview, await previewBox(input()));
      } catch (error) {
        replace(preview, errorBox(error));
      }
    }}, "Preview"),
    h("button", {type: "submit", class: "send"}, "Send")),
  general, preview);
  if (customer.emailOptOut || !customer.email) {
    return panel("Send email", h("p", {class: "note"}, customer.email ? "This customer opted out of email." : "This customer has no email address."));
  }
  return panel("Send email", form);
}
