// The filter builder: groups of conditions matched all (and) or any (or), each group may be
// negated (not) and hold groups of its own; the result is the API's CustomerFilter.

import {h, replace} from "../dom.js";
import * as fmt from "../format.js";
import {CONDITIONS, parseCondition} from "./filter_conditions.js";

const MAX_DEPTH = 3;

export function emptyGroup(match = "and") {
  return {type: "group", match, negate: false, items: []};
}

function newCondition(kind = "orderCount") {
  return {type: "condition", kind, op: CONDITIONS[kind].ops[0][0], value: ""};
}

/** The CustomerFilter of a group ({} when it has no complete condition). */
export function toFilter(group) {
  const parts = group.items.map((item) => {
    if (item.type === "group") return toFilter(item);
    if (item.value === "" || item.value === null) return null;
    return CONDITIONS[item.kind].build(item.op, item.value);
  }).filter((f) => f && Object.keys(f).length);
  if (!parts.length) return {};
  const inner = {[group.match]: parts};
  return group.negate ? {not: inner} : inner;
}

/** The group a filter made by toFilter reads back as; null for any other shape. */
export function fromFilter(filter) {
  const keys = Object.keys(filter || {});
  if (!keys.length) return emptyGroup();
  if (keys.length === 1 && keys[0] === "not") {
    const inner = fromFilter(filter.not);
    return inner ? {...inner, negate: !inner.negate} : null;
  }
  if (keys.length !== 1 || !["and", "or"].includes(keys[0])) return null;
  const items = [];
  for (const part of filter[keys[0]]) {
    const nested = Object.keys(part);
    const item = nested.length === 1 && ["and", "or", "not"].includes(nested[0])
      ? fromFilter(part) : parseCondition(part) && {type: "condition", ...parseCondition(part)};
    if (!item) return null;
    items.push(item);
  }
  return {type: "group", match: keys[0], negate: false, items};
}

function valueInput(condition, options, onInput) {
  const spec = CONDITIONS[condition.kind];
  const choices = spec.options || (condition.kind === "segment" ? options.segments : null);
  if (choices) {
    if (condition.value === "") condition.value = choices[0] ?? "";
    return h("select", {"aria-label": "Value", class: "condition-value", onchange: (e) => onInput(e.target.value)},
      choices.map((c) => h("option", {value: c, selected: c === condition.value}, fmt.words(c))));
  }
  const type = {number: "number", money: "number", date: "date"}[spec.input] || "text";
  return h("input", {type, "aria-label": "Value", class: "condition-value", value: condition.value,
    step: spec.input === "money" ? "0.01" : "1", min: type === "number" ? "0" : null,
    oninput: (e) => onInput(e.target.value)});
}

function conditionRow(condition, options, changed, remove) {
  const kind = h("select", {"aria-label": "Condition", class: "condition-kind", onchange: (e) => {
    Object.assign(condition, newCondition(e.target.value));
    changed(true);
  }}, Object.entries(CONDITIONS).map(([key, c]) => h("option", {value: key, selected: key === condition.kind}, c.label)));
  const ops = CONDITIONS[condition.kind].ops;
  const op = ops.length > 1 ? h("select", {"aria-label": "Comparison", class: "condition-op", onchange: (e) => {
    condition.op = e.target.value;
    changed(false);
  }}, ops.map(([value, label]) => h("option", {value, selected: value === condition.op}, label))) : null;
  return h("li", {class: "condition"}, kind, op,
    valueInput(condition, options, (value) => { condition.value = value; changed(false); }),
    h("button", {type: "button", class: "link remove", "aria-label": "Remove condition", onclick: remove}, "✕"));
}

function groupBox(group, options, changed, depth, remove = null) {
  const items = h("ul", {class: "conditions"}, group.items.map((item, i) => {
    const drop = () => { group.items.splice(i, 1); changed(true); };
    return item.type === "group" ? h("li", {}, groupBox(item, options, changed, depth + 1, drop))
      : conditionRow(item, options, changed, drop);
  }));
  return h("fieldset", {class: `filter-group depth-${depth}`},
    h("legend", {},
      h("label", {}, h("input", {type: "checkbox", class: "group-not", checked: group.negate,
        onchange: (e) => { group.negate = e.target.checked; changed(false); }}), " not "),
      h("select", {"aria-label": "Match", class: "group-match", onchange: (e) => { group.match = e.target.value; changed(false); }},
        h("option", {value: "and", selected: group.match === "and"}, "all of"),
        h("option", {value: "or", selected: group.match === "or"}, "any of")),
      remove ? h("button", {type: "button", class: "link remove", "aria-label": "Remove group", onclick: remove}, "✕") : null),
    items,
    h("div", {class: "toolbar"},
      h("button", {type: "button", class: "link add-condition", onclick: () => { group.items.push(newCondition()); changed(true); }}, "+ condition"),
      depth < MAX_DEPTH ? h("button", {type: "button", class: "link add-group", onclick: () => {
        group.items.push({...emptyGroup(group.match === "and" ? "or" : "and"), items: [newCondition()]});
        changed(true);
      }}, "+ group") : null));
}

/**
 * The builder for ``state.group``; ``onChange(filter)`` runs after every edit (the caller
 * debounces typing). ``options.segments`` lists the segment names. Returns {node, redraw}.
 */
export function filterBuilder(state, options, onChange) {
  const node = h("div", {class: "filter-builder"});
  function redraw() {
    replace(node, groupBox(state.group, options, changed, 0));
  }
  function changed(structural) {
    if (structural) redraw();
    onChange(toFilter(state.group));
  }
  redraw();
  return {node, redraw};
}
