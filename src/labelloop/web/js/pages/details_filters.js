// The details page's filters (label, hard flag or type, score) and its batch actions.
import { api } from "../api.js";
import { h } from "../dom.js";

const SCORE_RANGES = [
  { value: "", text: "Any score" },
  { value: "0.9-", text: "Score ≥ 90%" },
  { value: "0.7-", text: "Score ≥ 70%" },
  { value: "-0.7", text: "Score < 70%" },
  { value: "-0.5", text: "Score < 50%" },
];

function segmented(name, options, current, onPick) {
  return h("div.segmented", { role: "group", "aria-label": name },
    options.map(([value, text]) => h(`button${(current ?? "") === value ? ".active" : ""}`, {
      type: "button", "aria-pressed": (current ?? "") === value, dataset: { filter: name, value },
      onclick: () => onPick(value),
    }, text)));
}

export function filterBar({ tab, detection, palette, query, go }) {
  const reset = { after: "", prev: "" };
  const parts = [];
  if (tab === "to_confirm") {
    parts.push(detection
      ? segmented("hard_type", [["", "All"], ["none", "None"], ["false_detection", "False detection"], ["missed_detection", "Missed detection"]],
        query.hard_type, (value) => go({ ...reset, hard_type: value }))
      : segmented("hard", [["", "All"], ["true", "Hard"], ["false", "Not hard"]],
        query.hard, (value) => go({ ...reset, hard: value })));
    const currentScore = `${query.min_score ?? ""}-${query.max_score ?? ""}`;
    const score = h("select", { "aria-label": "Score" }, SCORE_RANGES.map((r) =>
      h("option", { value: r.value, selected: r.value === currentScore }, r.text)));
    score.addEventListener("change", () => {
      const [min, max] = score.value ? score.value.split("-") : ["", ""];
      go({ ...reset, min_score: min, max_score: max });
    });
    parts.push(score);
  }
  if (tab !== "unlabeled" && palette.labels.length) {
    const label = h("select", { "aria-label": "Label" },
      h("option", { value: "" }, "All labels"),
      palette.labels.map((l) => h("option", { value: l.name, selected: l.name === query.label }, l.name)));
    label.addEventListener("change", () => go({ ...reset, label: label.value }));
    parts.push(label);
  }
  return h("div.filters", parts);
}

/** Confirm or reject what is selected; "all not hard" without exceptions is one request. */
export async function confirmSelection(dataset, selection, kind) {
  const onlyAllNotHard = selection.allNotHard && !selection.allNotHard.excluded.size && !selection.ids.size;
  if (kind === "confirm" && onlyAllNotHard) return api.confirm(dataset.id, { all_not_hard: true });
  const ids = new Set(selection.ids);
  if (selection.allNotHard) {
    for (const id of await notHardIds(dataset)) {
      if (!selection.allNotHard.excluded.has(id)) ids.add(id);
    }
  }
  const list = [...ids];
  return kind === "confirm" ? api.confirm(dataset.id, { image_ids: list }) : api.reject(dataset.id, list);
}

async function notHardIds(dataset) {
  const filter = dataset.task_type === "detection" ? { hard_type: "none" } : { hard: false };
  const ids = [];
  let after = 0;
  for (;;) {
    const page = await api.images(dataset.id, { state: "to_confirm", ...filter, after, limit: 1000 });
    ids.push(...page.items.map((item) => item.id));
    if (page.next_after == null) return ids;
    after = page.next_after;
  }
}
