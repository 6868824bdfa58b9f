// Email templates: the list, create and edit (API field errors beside each input), and a
// preview rendered by the server for a chosen customer with the given variables.

import {gql} from "../../api.js";
import {errorBox, h, replace} from "../../dom.js";
import * as fmt from "../../format.js";
import {actionButton, dataTable, field, panel, showErrors} from "../../ui.js";
import {previewBox} from "../email_preview.js";

const TEMPLATE_FIELDS = "id name subject text html updatedAt";
const TEMPLATES = `query ConsoleTemplates { emailTemplates(first: 100) { nodes { ${TEMPLATE_FIELDS} } } }`;
const SAMPLE_CUSTOMERS = `query ConsoleSampleCustomers {
  customers(first: 20, orderBy: NAME_ASC) { nodes { id name email } }
}`;
const CREATE = `mutation ConsoleCreateTemplate($input: CreateEmailTemplateInput!) {
  createEmailTemplate(input: $input) { template { ${TEMPLATE_FIELDS} } errors { code field message } }
}`;
const UPDATE = `mutation ConsoleUpdateTemplate($input: UpdateEmailTemplateInput!) {
  updateEmailTemplate(input: $input) { template { ${TEMPLATE_FIELDS} } errors { code field message } }
}`;

function editor(template, samples, onSaved) {
  const name = h("input", {name: "name", type: "text", required: true, value: template?.name || ""});
  const subject = h("input", {name: "subject", type: "text", required: true, value: template?.subject || ""});
  const text = h("textarea", {name: "text", rows: 6}, template?.text || "");
  const html = h("textarea", {name: "html", rows: 6}, template?.html || "");
  const general = h("div", {});
  const preview = h("div", {class: "template-preview"});
  const customer = h("select", {name: "previewCustomer", "aria-label": "Preview for"},
    samples.map((c) => h("option", {value: c.id}, `${c.name} <${c.email}>`)));
  const variables = h("textarea", {name: "variables", rows: 2, placeholder: '{"offer": "10% off"}'});
  const form = h("form", {class: "stacked template-editor", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const values = {name: name.value, subject: subject.value, text: text.value || null, html: html.value || null};
    const {[template ? "updateEmailTemplate" : "createEmailTemplate"]: payload} = template
      ? await gql(UPDATE, {input: {id: template.id, ...values}})
      : await gql(CREATE, {input: values});
    if (showErrors(form, payload.errors, general)) return;
    onSaved(payload.template);
  }},
  field("Name", name), field("Subject", subject, "Jinja: {{ customer.first_name }}, {{ unsubscribe_url }}, your own variables"),
  field("Text", text), field("HTML (optional)", html),
  h("div", {class: "toolbar"}, h("button", {type: "submit"}, template ? "Save" : "Create template")),
  general);
  if (!template) return form;
  return h("div", {class: "template-work"}, form,
    h("div", {class: "stacked"}, h("h4", {}, "Preview (as saved)"),
      field("Customer", customer), field("Variables (JSON)", variables),
      actionButton("Preview", async () => {
        let vars = null;
        try {
          vars = variables.value.trim() ? JSON.parse(variables.value) : null;
        } catch (error) {
          replace(preview, errorBox(`Variables: ${error.message}`));
          return;
        }
        replace(preview, await previewBox({customerId: customer.value, templateId: template.id, variables: vars}));
      }, {class: "preview-button"}), preview));
}

export async function render(root) {
  const list = h("div", {});
  const work = h("div", {});
  let samples = [];
  async function reload(selected = null) {
    try {
      const {emailTemplates} = await gql(TEMPLATES);
      const open = (t) => replace(work, h("h4", {}, t ? `Edit “${t.name}”` : "New template"),
        editor(t, samples, (saved) => reload(saved.id)));
      replace(list, emailTemplates.nodes.length ? dataTable(["Name", "Subject", "Updated", ""],
        emailTemplates.nodes.map((t) => h("tr", {dataset: {template: t.id}},
          h("th", {scope: "row"}, t.name), h("td", {}, t.subject), h("td", {}, fmt.dateTime(t.updatedAt)),
          h("td", {}, h("button", {type: "button", class: "link edit-template", onclick: () => open(t)}, "Edit")))),
        {className: "templates"}) : h("p", {class: "note"}, "No templates yet."),
      h("button", {type: "button", class: "link new-template", onclick: () => open(null)}, "New template"));
      const chosen = emailTemplates.nodes.find((t) => t.id === selected);
      if (chosen) open(chosen);
    } catch (error) {
      replace(list, errorBox(error));
    }
  }
  replace(root, panel("Email templates", list, work));
  ({customers: {nodes: samples}} = await gql(SAMPLE_CUSTOMERS));
  await reload();
}
