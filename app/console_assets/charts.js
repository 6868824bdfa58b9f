// Hand-made SVG charts: axes, labels, a <title> tooltip on every mark, and beside each chart a
// table of the same numbers for screen readers (shown on demand to everyone).

import {h, svg} from "./dom.js";

const WIDTH = 640;
const HEIGHT = 260;
const MARGIN = {top: 16, right: 16, bottom: 48, left: 76};
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

/** A round upper bound and 4-6 evenly spaced ticks from 0 to it. */
export function niceScale(max) {
  if (!(max > 0)) return {max: 1, ticks: [0, 1]};
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
  const top = Math.ceil(max / step) * step;
  const ticks = [];
  for (let tick = 0; tick <= top + step / 2; tick += step) ticks.push(tick);
  return {max: top, ticks};
}

function yOf(value, scale) {
  return MARGIN.top + PLOT_H - (value / scale.max) * PLOT_H;
}

function axes({scale, labels, axisFormat, xLabel, yLabel}) {
  const band = PLOT_W / labels.length;
  const every = Math.max(1, Math.ceil(labels.length / 12));
  const baseline = MARGIN.top + PLOT_H;
  return [
    svg("g", {class: "axis axis-y"},
      svg("line", {x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: baseline}),
      scale.ticks.map((tick) => svg("g", {class: "tick"},
        svg("line", {class: "grid", x1: MARGIN.left, x2: WIDTH - MARGIN.right,
                     y1: yOf(tick, scale), y2: yOf(tick, scale)}),
        svg("text", {x: MARGIN.left - 6, y: yOf(tick, scale), dy: "0.32em", "text-anchor": "end"},
          axisFormat(tick)))),
      yLabel && svg("text", {class: "axis-label", "text-anchor": "middle",
                             transform: `translate(14 ${MARGIN.top + PLOT_H / 2}) rotate(-90)`},
        yLabel)),
    svg("g", {class: "axis axis-x"},
      svg("line", {x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: baseline, y2: baseline}),
      labels.map((label, i) => i % every ? null : svg("text", {
        x: MARGIN.left + band * (i + 0.5), y: baseline + 16, "text-anchor": "middle",
      }, label)),
      xLabel && svg("text", {class: "axis-label", x: MARGIN.left + PLOT_W / 2, y: HEIGHT - 6,
                             "text-anchor": "middle"}, xLabel)),
  ];
}

function frame(title, ...children) {
  return svg("svg", {viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title,
                     class: "chart-svg", preserveAspectRatio: "xMidYMid meet"}, ...children);
}

/** A figure: heading, the chart, a legend, and the numbers as a (visually hidden) table. */
export function figure({title, chart, legend = [], columns, rows, note}) {
  const table = h("table", {class: "chart-table visually-hidden"},
    h("caption", {}, title),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, rows.map((row) => h("tr", {},
      row.map((cell, i) => i === 0 ? h("th", {scope: "row"}, cell) : h("td", {}, cell))))));
  const toggle = h("button", {type: "button", class: "link", "aria-pressed": "false",
    onclick: () => {
      const shown = table.classList.toggle("visually-hidden") === false;
      toggle.setAttribute("aria-pressed", String(shown));
      toggle.textContent = shown ? "Hide table" : "Show table";
    }}, "Show table");
  return h("figure", {class: "chart"},
    h("figcaption", {}, h("h3", {}, title), toggle),
    chart,
    legend.length ? h("ul", {class: "legend"}, legend.map(([className, text]) =>
      h("li", {}, h("span", {class: `swatch ${className}`, "aria-hidden": "true"}), text))) : null,
    note ? h("p", {class: "note"}, note) : null,
    table);
}

/** Vertical bars: one per category, with value tooltips. */
export function barChart({title, labels, values, format, axisFormat = format, xLabel, yLabel,
                          className = "bar"}) {
  const scale = niceScale(Math.max(0, ...values));
  const band = PLOT_W / labels.length;
  const width = band * 0.7;
  return frame(title,
    ...axes({scale, labels, axisFormat, xLabel, yLabel}),
    svg("g", {class: "marks"}, values.map((value, i) => svg("rect", {
      class: className, x: MARGIN.left + band * i + (band - width) / 2, width,
      y: yOf(value, scale), height: Math.max(0, MARGIN.top + PLOT_H - yOf(value, scale)),
      "data-label": labels[i], "data-value": value,
    }, svg("title", {}, `${labels[i]}: ${format(value)}`)))));
}

/**
 * Revenue by month: bars for what was booked, the forecast's expected value as a line and its
 * interval as a band. ``points``: [{label, actual, expected, low, high}] (missing = null).
 */
export function forecastChart({title, points, format, axisFormat, yLabel, intervalLabel}) {
  const top = Math.max(0, ...points.flatMap((p) => [p.actual ?? 0, p.high ?? 0, p.expected ?? 0]));
  const scale = niceScale(top);
  const band = PLOT_W / points.length;
  const width = band * 0.7;
  const center = (i) => MARGIN.left + band * (i + 0.5);
  const forecast = points.map((p, i) => ({...p, i})).filter((p) => p.expected !== null);
  const upper = forecast.map((p) => `${center(p.i)},${yOf(p.high, scale)}`);
  const lower = forecast.map((p) => `${center(p.i)},${yOf(p.low, scale)}`).reverse();
  return frame(title,
    ...axes({scale, labels: points.map((p) => p.label), axisFormat, yLabel}),
    forecast.length ? svg("polygon", {class: "band", points: [...upper, ...lower].join(" ")},
      svg("title", {}, intervalLabel)) : null,
    svg("g", {class: "marks"}, points.map((p, i) => p.actual === null ? null : svg("rect", {
      class: "bar", x: MARGIN.left + band * i + (band - width) / 2, width,
      y: yOf(p.actual, scale), height: MARGIN.top + PLOT_H - yOf(p.actual, scale),
      "data-label": p.label, "data-value": p.actual,
    }, svg("title", {}, `${p.label}: ${format(p.actual)}`)))),
    forecast.length ? svg("polyline", {
      class: "forecast-line", points: forecast.map((p) => `${center(p.i)},${yOf(p.expected, scale)}`).join(" "),
    }) : null,
    svg("g", {class: "forecast-points"}, forecast.map((p) => svg("circle", {
      class: "forecast-point", cx: center(p.i), cy: yOf(p.expected, scale), r: 4,
      "data-label": p.label, "data-value": p.expected,
    }, svg("title", {},
      `${p.label}: ${format(p.expected)} expected (${format(p.low)} – ${format(p.high)})`)))));
}

/** Bars side by side per category, one per series ({name, className, values}). */
export function groupedBarChart({title, labels, series, format, axisFormat = format, xLabel, yLabel}) {
  const scale = niceScale(Math.max(0, ...series.flatMap((s) => s.values)));
  const band = PLOT_W / labels.length;
  const width = (band * 0.8) / series.length;
  return frame(title,
    ...axes({scale, labels, axisFormat, xLabel, yLabel}),
    series.map((s, k) => svg("g", {class: "marks", "data-series": s.name}, s.values.map((value, i) => svg("rect", {
      class: s.className, x: MARGIN.left + band * i + band * 0.1 + width * k, width,
      y: yOf(value, scale), height: Math.max(0, MARGIN.top + PLOT_H - yOf(value, scale)),
      "data-label": labels[i], "data-value": value,
    }, svg("title", {}, `${labels[i]} · ${s.name}: ${format(value)}`))))));
}
