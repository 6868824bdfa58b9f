// Customer 360: profile with inline edit, the live interaction timeline (new interactions and
// email statuses), orders, prediction, recommendations, duplicates with merge, send email, and
// the audit trail for admins.

import {gql} from "../api.js";
import {errorBox, h, replace} from "../dom.js";
import * as fmt from "../format.js";
import {subscribe} from "../live.js";
import {auditPanel} from "./audit.js";
import {reasonList} from "./dashboard.js";
import {duplicatesPanel} from "./duplicates.js";
import {editableField} from "./edit.js";
import {sendEmailPanel} from "./send_email.js";

const TIMELINE_FIELDS = "id channel direction subject occurredAt createdBy { name } email { status lastError }";
const PROFILE_FIELDS = "id name email phone company stage updatedAt";

const CUSTOMER = `query ConsoleCustomer($id: ID!) {
  customer(id: $id) {
    ${PROFILE_FIELDS} tags externalRef emailOptOut createdAt
    address { street city region postalCode country }
    owner { name }
    lifetimeValue { amount currency }
    orderCount lastOrderAt lastInteractionAt
    prediction {
      churnRisk expectedRevenue { amount currency } expectedOrders segment horizonDays scoredAt
      reasons { feature direction weight }
    }
    recommendations(first: 5) {
      score product { name sku price { amount currency } } reasons { basis }
    }
    orders(first: 10) {
      totalCount nodes { id placedAt status externalRef total { amount currency } }
    }
    interactions(first: 25) { totalCount nodes { ${TIMELINE_FIELDS} } }
  }
}`;

const CREATED = `subscription ConsoleTimeline($filter: InteractionSubscriptionFilter) {
  interactionCreated(filter: $filter) { ${TIMELINE_FIELDS} }
}`;

const STATUS = `subscription ConsoleEmailStatus($filter: InteractionSubscriptionFilter) {
  emailStatusChanged(filter: $filter) { ${TIMELINE_FIELDS} }
}`;

const SEND = `mutation ConsoleSendEmail($input: SendEmailInput!) {
  sendEmail(input: $input) {
    interaction { ${TIMELINE_FIELDS} } email { status } warnings errors { code field message }
  }
}`;

const LOG = `mutation ConsoleLogInteraction($input: LogInteractionInput!) {
  logInteraction(input: $input) { interaction { ${TIMELINE_FIELDS} } errors { code field message } }
}`;

const STAGES = ["LEAD", "PROSPECT", "CUSTOMER", "CHURNED"];
const CHANNELS = ["NOTE", "PHONE", "EMAIL", "MEETING", "CHAT", "SMS", "SOCIAL"];

function section(title, ...children) {
  const id = `section-${title.toLowerCase().replaceAll(" ", "-")}`;
  return h("section", {class: "panel", "aria-labelledby": id}, h("h3", {id}, title), ...children);
}

function profile(customer) {
  const address = [customer.address.street, customer.address.postalCode, customer.address.city,
                   customer.address.country].filter(Boolean).join(", ");
  const fields = [
    ["name", "Name", {required: true}], ["email", "Email", {type: "email"}],
    ["phone", "Phone", {type: "tel"}], ["company", "Company", {}],
    ["stage", "Stage", {options: STAGES}],
  ];
  return section("Profile",
    h("dl", {class: "profile"},
      fields.map(([name, label, options]) => editableField(customer, name, label, options)),
      h("dt", {}, "Address"), h("dd", {}, address || "–"),
      h("dt", {}, "Tags"), h("dd", {}, customer.tags.length ? customer.tags.join(", ") : "–"),
      h("dt", {}, "Owner"), h("dd", {}, customer.owner ? customer.owner.name : "–"),
      h("dt", {}, "Email opt-out"), h("dd", {}, customer.emailOptOut ? "yes" : "no"),
      h("dt", {}, "Customer since"), h("dd", {}, fmt.date(customer.createdAt))));
}

function timelineItem(interaction, fresh = false) {
  return h("li", {class: `interaction${fresh ? " fresh" : ""}`, dataset: {id: interaction.id}},
    h("span", {class: `channel ${interaction.channel.toLowerCase()}`}, fmt.words(interaction.channel)),
    h("span", {class: "direction"}, interaction.direction === "INBOUND" ? "← in" : "→ out"),
    h("span", {class: "subject"}, interaction.subject || "(no subject)"),
    h("time", {datetime: interaction.occurredAt}, fmt.dateTime(interaction.occurredAt)),
    interaction.createdBy ? h("span", {class: "muted"}, `by ${interaction.createdBy.name}`) : null,
    interaction.email ? h("span", {class: `email-status ${interaction.email.status.toLowerCase()}`,
      title: interaction.email.lastError || null}, fmt.words(interaction.email.status)) : null);
}

function timeline(customer) {
  const list = h("ol", {class: "timeline", "aria-live": "polite"},
    customer.interactions.nodes.map((i) => timelineItem(i)));
  const status = h("span", {class: "live-status", role: "status"}, "connecting");
  const seen = new Set(customer.interactions.nodes.map((i) => i.id));
  const add = (interaction) => {
    if (seen.has(interaction.id)) return;
    seen.add(interaction.id);
    list.prepend(timelineItem(interaction, true));
  };
  const update = (interaction) => {
    const old = list.querySelector(`li[data-id="${CSS.escape(interaction.id)}"]`);
    if (old) old.replaceWith(timelineItem(interaction, true));
    else add(interaction);
  };
  const stopStatus = subscribe(STATUS, {filter: {customerId: customer.id}}, {
    onNext: (data) => update(data.emailStatusChanged),
  });
  const stopCreated = subscribe(CREATED, {filter: {customerId: customer.id}}, {
    onNext: (data) => add(data.interactionCreated),
    onError: (errors) => { status.textContent = `live updates failed: ${errors.map((e) => e.message).join("; ")}`; },
    onStatus: (text) => {
      status.textContent = text;
      status.dataset.state = text;
    },
  });
  const node = section("Timeline",
    h("p", {class: "muted"}, `${fmt.number(customer.interactions.totalCount)} interactions · live: `, status),
    logForm(customer, add), list);
  const send = async (input) => {
    const {sendEmail: payload} = await gql(SEND, {input});
    if (payload.interaction) update(payload.interaction);
    return payload;
  };
  return {node, send, stop: () => { stopCreated(); stopStatus(); }};
}

function logForm(customer, add) {
  const channel = h("select", {"aria-label": "Channel"}, CHANNELS.map((c) => h("option", {value: c}, fmt.words(c))));
  const direction = h("select", {"aria-label": "Direction"},
    h("option", {value: "OUTBOUND"}, "outbound"), h("option", {value: "INBOUND"}, "inbound"));
  const subject = h("input", {type: "text", "aria-label": "Subject", placeholder: "Log an interaction…", required: true});
  const message = h("div", {});
  return h("form", {class: "log", onsubmit: async (event) => {
    event.preventDefault();
    replace(message);
    try {
      const {logInteraction: payload} = await gql(LOG, {input: {
        customerId: customer.id, channel: channel.value, direction: direction.value, subject: subject.value,
      }});
      if (payload.errors.length) replace(message, errorBox(payload.errors.map((e) => e.message).join("; ")));
      else {
        add(payload.interaction);
        subject.value = "";
      }
    } catch (error) {
      replace(message, errorBox(error));
    }
  }}, channel, direction, subject, h("button", {type: "submit"}, "Log"), message);
}

function orders(customer) {
  const value = customer.lifetimeValue.map((m) => fmt.money(m.amount, m.currency, 2)).join(" + ") || "–";
  return section("Orders",
    h("p", {class: "muted"}, `${fmt.number(customer.orderCount)} orders · lifetime value ${value} · last ${fmt.date(customer.lastOrderAt)}`),
    customer.orders.nodes.length ? h("table", {class: "data"},
      h("thead", {}, h("tr", {}, ["Placed", "Reference", "Status", "Total"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, customer.orders.nodes.map((o) => h("tr", {},
        h("td", {}, fmt.date(o.placedAt)), h("td", {}, o.externalRef || "–"),
        h("td", {}, fmt.words(o.status)),
        h("td", {class: "num"}, fmt.money(o.total.amount, o.total.currency, 2)))))) : h("p", {class: "note"}, "No orders."));
}

function prediction(customer) {
  const p = customer.prediction;
  if (!p || p.churnRisk === null) return section("Prediction", h("p", {class: "note"}, "Not scored yet."));
  return section("Prediction",
    h("dl", {class: "facts"},
      h("dt", {}, "Churn risk"), h("dd", {class: "churn-risk"}, fmt.percent(p.churnRisk)),
      h("dt", {}, `Expected revenue (${p.horizonDays} days)`),
      h("dd", {}, p.expectedRevenue ? fmt.money(p.expectedRevenue.amount, p.expectedRevenue.currency) : "–"),
      h("dt", {}, "Expected orders"), h("dd", {}, fmt.number(p.expectedOrders, 1)),
      h("dt", {}, "Segment"), h("dd", {}, p.segment || "–"),
      h("dt", {}, "Scored"), h("dd", {}, fmt.dateTime(p.scoredAt))),
    h("h4", {}, "Why"), reasonList(p.reasons));
}

function recommendations(customer) {
  return section("Recommendations", customer.recommendations.length
    ? h("ol", {class: "recommendations"}, customer.recommendations.map((r) => h("li", {},
      h("strong", {}, r.product.name), " ",
      h("span", {class: "muted"}, fmt.money(r.product.price.amount, r.product.price.currency, 2)),
      h("ul", {class: "basis"}, r.reasons.map((reason) => h("li", {}, reason.basis))))))
    : h("p", {class: "note"}, "No recommendations."));
}

/** ``role`` is the signed-in user's: viewers send no email, merges need a manager. */
export async function render(root, id, {role = "VIEWER", me = null} = {}) {
  const rank = ["VIEWER", "AGENT", "MANAGER", "ADMIN"].indexOf(role);
  replace(root, h("p", {class: "loading"}, "Loading…"));
  let customer;
  try {
    ({customer} = await gql(CUSTOMER, {id}));
  } catch (error) {
    replace(root, errorBox(error));
    return undefined;
  }
  if (!customer) {
    replace(root, h("h2", {}, "Customer"), errorBox("No such customer (it may have been deleted or merged)."));
    return undefined;
  }
  const live = timeline(customer);
  const heading = h("h2", {}, customer.name);
  replace(root,
    h("p", {}, h("a", {href: "#/customers"}, "← Customers")), heading,
    h("div", {class: "grid customer-360"},
      profile(customer), prediction(customer), live.node, rank >= 1 ? sendEmailPanel(customer, live.send) : null,
      orders(customer), recommendations(customer),
      // after a merge the whole view is drawn again (main.js redraws on hashchange)
      rank >= 1 ? duplicatesPanel(customer, () => window.dispatchEvent(new HashChangeEvent("hashchange")),
        {canMerge: rank >= 2}) : null,
      rank >= 3 ? auditPanel(customer, me) : null));
  const renamed = (event) => { heading.textContent = event.detail.name; };
  root.addEventListener("customer-updated", renamed);
  return () => {
    live.stop();
    root.removeEventListener("customer-updated", renamed);
  };
}
