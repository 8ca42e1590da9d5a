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

/** The filters of the "To be confirmed" grid as the confirm endpoint takes them. */
export function reviewFilters(query) {
  const filters = {};
  if (query.label) filters.label = query.label;
  if (query.hard === "true" || query.hard === "false") filters.hard = query.hard === "true";
  if (query.hard_type) filters.hard_type = query.hard_type;
  if (query.min_score) filters.min_score = Number(query.min_score);
  if (query.max_score) filters.max_score = Number(query.max_score);
  return filters;
}

export function hasFilters(query) {
  return Object.keys(reviewFilters(query)).length > 0;
}

/** The image query for "not hard under these filters" (null: the filters exclude them all). */
function notHardQuery(query) {
  if (query.hard === "true") return null;
  return {
    state: "to_confirm", label: query.label, hard: false, hard_type: query.hard_type,
    min_score: query.min_score, max_score: query.max_score,
  };
}

/** How many not-hard images the filters on screen hold, on every page. */
export async function countNotHard(dataset, query) {
  const wanted = notHardQuery(query);
  if (!wanted) return 0;
  return (await api.images(dataset.id, { ...wanted, limit: 1 })).total;
}

/**
 * Confirm or reject what is selected, never more than the filters on screen show: "all not
 * hard" without exceptions is one request that carries the filters; otherwise the ids.
 */
export async function confirmSelection(dataset, selection, kind, query) {
  const onlyAllNotHard = selection.allNotHard && !selection.allNotHard.excluded.size && !selection.explicit.size;
  if (kind === "confirm" && onlyAllNotHard) {
    return api.confirm(dataset.id, { all_not_hard: true, filters: reviewFilters(query) });
  }
  const ids = new Set(selection.ids);
  if (selection.allNotHard) {
    for (const id of await notHardIds(dataset, query)) {
      if (!selection.allNotHard.excluded.has(id)) ids.add(id);
    }
  }
  const list = [...ids];
  if (!list.length) return { changed: 0, image_ids: [], skipped: [] };
  return kind === "confirm" ? api.confirm(dataset.id, { image_ids: list }) : api.reject(dataset.id, list);
}

async function notHardIds(dataset, query) {
  const wanted = notHardQuery(query);
  if (!wanted) return [];
  const ids = [];
  let after = 0;
  for (;;) {
    const page = await api.images(dataset.id, { ...wanted, after, limit: 1000 });
    ids.push(...page.items.map((item) => item.id));
    if (page.next_after == null) return ids;
    after = page.next_after;
  }
}
