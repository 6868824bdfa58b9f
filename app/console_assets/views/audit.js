// The audit trail of one customer, for admins: who changed what, when (auditEvents by target).

import {gql} from "../api.js";
import {errorBox, h, replace} from "../dom.js";
import * as fmt from "../format.js";
import {dataTable, panel} from "../ui.js";

const AUDIT = `query ConsoleAudit($id: ID!) {
  auditEvents(filter: {targetId: $id}, first: 20) {
    totalCount nodes { id action actorUserId actorApiKeyId changedFields ip createdAt }
  }
}`;

/** The panel; ``me`` is the signed-in user's id (shown as "you"). */
export function auditPanel(customer, me) {
  const body = h("div", {}, h("p", {class: "loading"}, "Loading…"));
  gql(AUDIT, {id: customer.id}).then(({auditEvents}) => {
    const who = (e) => (e.actorUserId === me ? "you" : e.actorUserId ? `user ${e.actorUserId.slice(0, 8)}…`
      : e.actorApiKeyId ? "an API key" : "the system");
    replace(body, auditEvents.nodes.length ? dataTable(["When", "Action", "By", "Fields"],
      auditEvents.nodes.map((e) => [fmt.dateTime(e.createdAt), e.action, who(e), e.changedFields.join(", ") || "–"]),
      {className: "audit-trail", caption: `${fmt.number(auditEvents.totalCount)} events, latest first`})
      : h("p", {class: "note"}, "No changes recorded."));
  }).catch((error) => replace(body, errorBox(error)));
  return panel("Audit trail", body);
}
