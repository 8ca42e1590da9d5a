// The editor's side panel: labels with their 1–9 keys, the proposal under review, the boxes.
import { fileName, fmtPct, h } from "../dom.js";
import { hardBadge } from "../components/thumb_tile.js";
import { labelChip, swatch } from "../labels.js";

export function labelButtons(palette, { active, predicted, onPick }) {
  return h("div.label-buttons", { role: "group", "aria-label": "Labels", dataset: { scroll: "labels" } },
    palette.labels.map((label, index) => h(`button.label-button${label.name === active ? ".active" : ""}`, {
      type: "button", dataset: { label: label.name }, "aria-pressed": label.name === active,
      style: { "--label-color": label.color }, onclick: () => onPick(label.name), title: label.name,
    },
    index < 9 ? h("kbd", index + 1) : h("span.kbd-placeholder"),
    swatch(label.color),
    h("span.label-name", label.name),
    label.name === predicted ? h("span.small.muted", "proposed") : null)));
}

export function imageInfo(image, position) {
  const states = { unlabeled: "Unlabeled", to_confirm: "To be confirmed", labeled: "Labeled" };
  return h("div.image-info",
    h("div.image-name", { title: image.file }, fileName(image.file)),
    h("div.small.muted", `${image.width} × ${image.height} · ${image.file_format} · id ${image.id}${position ? ` · ${position}` : ""}`),
    h(`span.status.status-${image.state}`, { dataset: { testid: "image-state" } }, states[image.state]),
  );
}

export function predictionInfo(image, palette, detection) {
  const p = image.prediction;
  if (!p) return null;
  const rows = [];
  if (!detection && p.label) {
    rows.push(h("div.prediction-row", labelChip(palette, p.label, { suffix: p.score != null ? fmtPct(p.score) : "" })));
  }
  if (detection) {
    rows.push(h("div.small", `${p.boxes.length} proposed box${p.boxes.length === 1 ? "" : "es"}`,
      p.hints.length ? `, ${p.hints.length} possible missed object${p.hints.length === 1 ? "" : "s"} (dashed)` : ""));
  }
  rows.push(h("div.prediction-row", hardBadge(p, detection),
    h("span.small.muted", ` hardness ${p.hard_coefficient.toFixed(2)}`)));
  if (p.hard_reasons.length) {
    rows.push(h("ul.reasons", p.hard_reasons.map((r) => h("li", r.text))));
  }
  rows.push(h("div.small.muted", `by ${p.model_version ?? "a model"}${p.job_id ? ` (job ${p.job_id})` : ""}`));
  return h("section.panel-section", h("h3", "Proposal"), rows);
}

export function boxList(editor, palette) {
  if (!editor.boxes.length) return h("p.small.muted", "No boxes. Drag on the image to draw one.");
  return h("ol.box-list", { dataset: { scroll: "boxes" } }, editor.boxes.map((b, index) =>
    h(`li${index === editor.selected ? ".selected" : ""}`, {
      onclick: () => editor.select(index), dataset: { index },
    },
    labelChip(palette, b.label, { small: true }),
    h("span.small.muted", `${Math.round(b.w)}×${Math.round(b.h)} at ${Math.round(b.x)},${Math.round(b.y)}`),
    b.score != null ? h("span.small.muted", fmtPct(b.score)) : null,
    h("button.icon-button", {
      type: "button", title: "Delete box (Del)", "aria-label": "Delete box",
      onclick: (event) => { event.stopPropagation(); editor.select(index); editor.deleteSelected(); },
    }, "×"))));
}

export const SHORTCUTS = [
  ["1–9", "choose a label (classification: save and go on)"],
  ["Enter", "save, or confirm the proposal"],
  ["→ / ←", "next / previous image"],
  ["Ctrl+Z", "undo the last change"],
  ["Del", "delete the selected box"],
  ["R", "reject the proposal"],
  ["Esc", "deselect; back to the grid"],
];

/** The mouse in the box editor (detection), as in Label Studio. */
export const MOUSE = [
  ["Drag", "draw a box, also inside a box that is not selected"],
  ["Click", "select the box under the pointer"],
  ["Drag selected", "move it; its handles resize it"],
  ["Shift+drag", "always draw, even on the selected box"],
];

export function shortcutsHelp(detection = false, open = false) {
  const rows = detection ? [...MOUSE, ...SHORTCUTS] : SHORTCUTS;
  return h("details.shortcuts", { open },
    h("summary", detection ? "Mouse and keyboard" : "Keyboard shortcuts"),
    h("dl", rows.map(([key, text]) => [h("dt", h("kbd", key)), h("dd", text)])));
}
