// The three states of a dataset as one bar: unlabeled, to be confirmed, labeled.
import { fmtInt, h } from "../dom.js";

export const STATES = [
  { key: "unlabeled", title: "Unlabeled" },
  { key: "to_confirm", title: "To be confirmed" },
  { key: "labeled", title: "Labeled" },
];

export function stateBar(counts) {
  const total = counts.total || 0;
  return h("div.state-bar", { title: STATES.map((s) => `${s.title}: ${fmtInt(counts[s.key])}`).join("\n") },
    total === 0
      ? h("span.state-bar-empty")
      : STATES.map((s) => h(`span.state-${s.key}`, { style: { flexGrow: counts[s.key] || 0 } })),
  );
}

export function stateLegend(counts) {
  return h("div.state-legend",
    STATES.map((s) => h("span", h(`i.dot.state-${s.key}`), `${s.title} `, h("b", fmtInt(counts[s.key])))),
  );
}
