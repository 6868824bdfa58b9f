// Webhooks: endpoints (create with the signing secret shown once, pause, delete), each with its
// delivery log, and a replay of any delivery's event.

import {gql} from "../../api.js";
import {errorBox, h, replace} from "../../dom.js";
import * as fmt from "../../format.js";
import {actionButton, dataTable, field, panel, showErrors} from "../../ui.js";

const HOOK_FIELDS = `id url description events enabled disabledReason consecutiveFailures
  circuitOpenUntil lastSuccessAt createdAt`;
const WEBHOOKS = `query ConsoleWebhooks { webhooks(first: 50) { nodes { ${HOOK_FIELDS} } } }`;
const DELIVERIES = `query ConsoleDeliveries($id: ID!) {
  webhook(id: $id) {
    id deliveries(first: 25) {
      totalCount nodes { id status httpStatus attempt durationMs error createdAt deliveredAt
                         nextAttemptAt event { id sequence type occurredAt } }
    }
  }
}`;
const CREATE = `mutation ConsoleCreateWebhook($input: CreateWebhookInput!) {
  createWebhook(input: $input) { webhook { id } secret errors { code field message } }
}`;
const UPDATE = `mutation ConsoleUpdateWebhook($input: UpdateWebhookInput!) {
  updateWebhook(input: $input) { webhook { id enabled } errors { code field message } }
}`;
const DELETE = `mutation ConsoleDeleteWebhook($id: ID!) { deleteWebhook(id: $id) { errors { message } } }`;
const REPLAY = `mutation ConsoleReplay($id: ID!, $from: Int!, $to: Int) {
  replayWebhookEvents(webhookId: $id, fromSequence: $from, toSequence: $to) {
    queued errors { code field message }
  }
}`;
const EVENTS = ["CUSTOMER_CREATED", "CUSTOMER_UPDATED", "CUSTOMER_DELETED", "CUSTOMER_MERGED",
  "INTERACTION_CREATED", "ORDER_CREATED", "ORDER_UPDATED", "PRODUCT_CREATED", "PRODUCT_UPDATED",
  "EMAIL_STATUS_CHANGED", "PREDICTION_CHANGED", "COMPANY_CREATED", "COMPANY_UPDATED",
  "COMPANY_DELETED", "DEAL_CREATED", "DEAL_UPDATED", "DEAL_STAGE_CHANGED", "DEAL_DELETED",
  "TASK_CREATED", "TASK_UPDATED"];

function deliveryLog(hook) {
  const box = h("div", {class: "deliveries", dataset: {webhook: hook.id}});
  const message = h("p", {class: "note", role: "status"});
  async function load() {
    try {
      const {webhook} = await gql(DELIVERIES, {id: hook.id});
      const nodes = webhook.deliveries.nodes;
      replace(box, h("p", {class: "muted"}, `${fmt.number(webhook.deliveries.totalCount)} deliveries (latest first)`),
        message,
        nodes.length ? dataTable(["Event", "Sequence", "Status", "HTTP", "Attempt", "Time", "Error", ""],
          nodes.map((d) => h("tr", {dataset: {delivery: d.id, status: d.status}},
            h("th", {scope: "row"}, d.event.type), h("td", {class: "num"}, d.event.sequence),
            h("td", {class: `delivery-status ${d.status.toLowerCase()}`}, fmt.words(d.status)),
            h("td", {class: "num"}, d.httpStatus ?? "–"), h("td", {class: "num"}, d.attempt),
            h("td", {}, fmt.dateTime(d.deliveredAt || d.createdAt)),
            h("td", {class: "muted"}, d.error || ""),
            h("td", {}, actionButton("Replay", async () => {
              const {replayWebhookEvents: payload} = await gql(REPLAY, {
                id: hook.id, from: d.event.sequence, to: d.event.sequence});
              const waiting = `Event ${d.event.sequence} is already waiting to be delivered.`;
              message.textContent = payload.errors.length
                ? payload.errors.map((e) => e.message).join("; ")
                : payload.queued ? `Event ${d.event.sequence} queued again (${payload.queued}).` : waiting;
              await load();
            }, {class: "link replay"})))), {className: "delivery-log", numeric: [1, 3, 4]})
          : h("p", {class: "note"}, "Nothing delivered yet."));
    } catch (error) {
      replace(box, errorBox(error));
    }
  }
  return {box, load};
}

function hookCard(hook, reload) {
  const log = deliveryLog(hook);
  const details = h("details", {ontoggle: () => { if (details.open) log.load(); }},
    h("summary", {}, "Delivery log"), log.box);
  const state = hook.enabled ? (hook.consecutiveFailures ? `failing (${hook.consecutiveFailures})` : "enabled")
    : `paused${hook.disabledReason ? `: ${hook.disabledReason}` : ""}`;
  return h("article", {class: "webhook", dataset: {webhook: hook.id}},
    h("h4", {}, h("code", {}, hook.url)),
    hook.description ? h("p", {}, hook.description) : null,
    h("p", {class: "muted"}, `${state} · events: ${hook.events.map(fmt.words).join(", ")} · last success ${fmt.dateTime(hook.lastSuccessAt)}`),
    h("div", {class: "toolbar"},
      actionButton(hook.enabled ? "Pause" : "Resume", async () => {
        await gql(UPDATE, {input: {id: hook.id, enabled: !hook.enabled}});
        await reload();
      }, {class: "link"}),
      actionButton("Delete", async () => {
        if (!window.confirm(`Delete the webhook to ${hook.url}?`)) return;
        await gql(DELETE, {id: hook.id});
        await reload();
      }, {class: "link danger"})),
    details);
}

function createForm(onCreated) {
  const url = h("input", {name: "url", type: "url", required: true, placeholder: "https://…"});
  const description = h("input", {name: "description", type: "text"});
  const events = h("select", {name: "events", multiple: true, size: 6},
    EVENTS.map((e) => h("option", {value: e}, fmt.words(e))));
  const general = h("div", {});
  const secret = h("div", {class: "secret", "aria-live": "polite"});
  const form = h("form", {class: "stacked create-webhook", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    replace(secret);
    const {createWebhook: payload} = await gql(CREATE, {input: {
      url: url.value, description: description.value,
      events: [...events.selectedOptions].map((o) => o.value),
    }});
    if (showErrors(form, payload.errors, general)) return;
    form.reset();
    replace(secret, h("p", {}, h("strong", {}, "Signing secret (shown only once): ")),
      h("code", {class: "secret-value"}, payload.secret));
    onCreated();
  }},
  field("URL", url), field("Description", description), field("Events", events, "Ctrl/⌘-click for several"),
  h("button", {type: "submit"}, "Add webhook"), general, secret);
  return form;
}

export async function render(root) {
  const list = h("div", {class: "webhooks"});
  async function reload() {
    try {
      const {webhooks} = await gql(WEBHOOKS);
      replace(list, webhooks.nodes.length ? webhooks.nodes.map((w) => hookCard(w, reload))
        : h("p", {class: "note"}, "No webhooks yet."));
    } catch (error) {
      replace(list, errorBox(error));
    }
  }
  replace(root, panel("Webhooks", list, h("h4", {}, "New webhook"), createForm(reload)));
  await reload();
}
