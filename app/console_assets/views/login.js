// The sign-in form: `login` with email and password.

import {errorBox, h, replace} from "../dom.js";
import {login} from "../session.js";

export function render(root) {
  const message = h("div", {"aria-live": "polite"});
  const email = h("input", {id: "login-email", name: "email", type: "email", required: true,
                            autocomplete: "username"});
  const password = h("input", {id: "login-password", name: "password", type: "password",
                               required: true, autocomplete: "current-password"});
  const submit = h("button", {type: "submit"}, "Sign in");
  const form = h("form", {class: "login", onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(message);
    try {
      const errors = await login(email.value, password.value);
      // on success the session's listeners draw the console
      if (errors.length) replace(message, errorBox(errors.map((e) => e.message).join("; ")));
    } catch (error) {
      replace(message, errorBox(error));
    } finally {
      submit.disabled = false;
    }
  }},
  h("h1", {}, "CRM console"),
  h("label", {for: "login-email"}, "Email"), email,
  h("label", {for: "login-password"}, "Password"), password,
  submit, message,
  h("p", {class: "note"}, "The demo started by `crm serve` signs in as demo@example.com / demo-password."));
  replace(root, h("main", {class: "login-page"}, form));
  email.focus();
}
