// The pages an emailed link opens: #/invitation?token=... (choose a name and a password) and
// #/reset-password?token=... (choose a new password). Both sign in on success.

import {errorBox, h, replace} from "../dom.js";
import {acceptInvitation, resetPassword} from "../session.js";
import {showErrors} from "../ui.js";

const TITLES = {"invitation": "Join your team", "reset-password": "Choose a new password"};

export function render(root, page, token) {
  const general = h("div", {"aria-live": "polite"});
  const name = h("input", {id: "account-name", name: "name", type: "text", required: true,
                           autocomplete: "name"});
  const password = h("input", {id: "account-password", name: "password", type: "password",
                               required: true, autocomplete: "new-password", minlength: 8});
  const submit = h("button", {type: "submit"}, page === "invitation" ? "Join" : "Set password");
  const invited = page === "invitation";
  const form = h("form", {class: "login account-link", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(general);
    try {
      const errors = invited
        ? await acceptInvitation(token, name.value, password.value)
        : await resetPassword(token, password.value);
      if (!showErrors(form, errors, general)) window.location.hash = "#/dashboard";
    } catch (error) {
      replace(general, errorBox(error));
    } finally {
      submit.disabled = false;
    }
  }},
  h("h1", {}, TITLES[page]),
  invited ? [h("label", {for: "account-name"}, "Your name"), name] : null,
  h("label", {for: "account-password"}, "Password (at least 8 characters)"), password,
  submit, general);
  replace(root, h("main", {class: "login-page"}, form));
  (invited ? name : password).focus();
}
