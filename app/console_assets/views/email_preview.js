// A server-rendered preview of an email (previewEmail): subject, text and HTML as sent.

import {gql} from "../api.js";
import {errorBox, h} from "../dom.js";

const PREVIEW = `query ConsolePreviewEmail($input: SendEmailInput!) {
  previewEmail(input: $input) { preview { subject text html } errors { code field message } }
}`;

/** The preview of ``input`` (a SendEmailInput) as nodes, or the API's errors. */
export async function previewBox(input) {
  try {
    const {previewEmail: payload} = await gql(PREVIEW, {input});
    if (payload.errors.length) return errorBox(payload.errors.map((e) => e.message).join("; "));
    const {subject, text, html} = payload.preview;
    // the HTML part is shown in a sandboxed frame: no scripts, no requests to anywhere
    return h("div", {class: "email-preview"},
      h("p", {}, h("strong", {}, "Subject: "), h("span", {class: "preview-subject"}, subject)),
      h("pre", {class: "preview-text"}, text),
      html ? h("iframe", {class: "preview-html", title: "HTML part", sandbox: "", srcdoc: html}) : null);
  } catch (error) {
    return errorBox(error);
  }
}
