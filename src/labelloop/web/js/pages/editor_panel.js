// The editor's side panel: labels with their keys, the proposal under review, the boxes.
import { fileName, fmtPct, h } from "../dom.js";
import { hardBadge } from "../components/thumb_tile.js";
import { labelChip, labelKey } from "../labels.js";

export const MAX_LABELS_IN_VIEW = 12;

/** Label buttons, one or two columns: a two-column grid shows up to twelve labels at once. */
export function labelButtons(palette, { active, predicted, onPick, columns = 1 }) {
  const many = palette.labels.length > MAX_LABELS_IN_VIEW; // the list scrolls beyond twelve
  return h(`div.label-buttons${columns > 1 ? ".two-columns" : ""}${many ? ".many" : ""}`, {
    role: "group", "aria-label": "Labels", dataset: { scroll: "labels" },
  },
  palette.labels.map((label) => h(`button.label-button${label.name === active ? ".active" : ""}`, {
    type: "button", dataset: { label: label.name }, "aria-pressed": label.name === active,
    style: { "--label-color": label.color }, onclick: () => onPick(label.name),
    title: label.name === predicted ? `${label.name} (proposed)` : label.name,
  },
  labelKey(palette, label.name) ?? h("span.kbd-placeholder"),
  h("span.label-name", label.name),
  label.name === predicted ? h("span.label-proposed", { title: "Proposed by the model" }, "proposed") : null)));
}

export function imageInfo(image, position) {
  const states = { unlabeled: "Unlabeled", to_confirm: "To be confirmed", labeled: "Labeled" };
  return h("div.image-info",
    h("div.image-title",
      h("span.image-name", { title: image.file }, fileName(image.file)),
      h(`span.status.status-${image.state}`, { dataset: { testid: "image-state" } }, states[image.state])),
    h("div.small.muted", `${image.width} × ${image.height} · ${image.file_format} · id ${image.id}${position ? ` · ${position}` : ""}`),
  );
}

/** ``openHints``: how many hints are still dashed (the others became boxes). */
export function predictionInfo(image, palette, detection, openHints = null) {
  const p = image.prediction;
  if (!p) return null;
  const rows = [];
  if (!detection && p.label) {
    rows.push(h("div.prediction-row", labelChip(palette, p.label, { suffix: p.score != null ? fmtPct(p.score) : "" })));
  }
  if (detection) {
    const hints = openHints ?? p.hints.length;
    rows.push(h("div.small", { dataset: { testid: "proposal-summary" } },
      `${p.boxes.length} proposed box${p.boxes.length === 1 ? "" : "es"}`,
      hints ? `, ${hints} possible missed object${hints === 1 ? "" : "s"} (dashed: click one to add it as a box)` : ""));
  }
  rows.push(h("div.prediction-row", hardBadge(p, detection),
    h("span.small.muted", ` hardness ${p.hard_coefficient.toFixed(2)}`)));
  if (p.hard_reasons.length) {
    rows.push(h("ul.reasons", p.hard_reasons.map((r) => h("li", r.text))));
  }
  const by = `by ${p.model_version ?? "a model"}${p.job_id ? ` (job ${p.job_id})` : ""}`;
  return h("section.panel-section.proposal-section",
    h("h3.section-head", "Proposal", h("span.section-note", { title: by }, by)), rows);
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
  ["1–9", "choose a label (classification: save and go on)"], // the keys are the palette's
  ["Enter", "save, or confirm the proposal"],
  ["→ / ←", "next / previous image"],
  ["Ctrl+Z", "undo the last change"],
  ["Del", "delete the selected box"],
  ["R", "reject the proposal (asks first if edits are unsaved; Ctrl+Z brings it back)"],
  ["Esc", "deselect; back to the grid"],
];

/** The mouse in the box editor (detection), as in Label Studio. */
export const MOUSE = [
  ["Drag", "draw a box, also inside a box that is not selected"],
  ["Click dashed", "add a possible missed object as a box (or Tab to it, Enter)"],
  ["Click", "select the box under the pointer"],
  ["Drag selected", "move it; its handles resize it"],
  ["Shift+drag", "always draw, even on the selected box"],
];

export function shortcutsHelp(detection = false, open = false, palette = null) {
  const keys = palette ? palette.keysText() : "1–9";
  const shortcuts = SHORTCUTS.map(([key, text]) => [key === "1–9" ? keys : key, text]);
  const rows = detection ? [...MOUSE, ...shortcuts] : shortcuts;
  return h("details.shortcuts", { open },
    h("summary", { title: detection ? "Mouse and keyboard" : "Keyboard shortcuts" }, "Shortcuts"),
    h("dl", rows.map(([key, text]) => [h("dt", h("kbd", key)), h("dd", text)])));
}
