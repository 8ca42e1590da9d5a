// One image in a grid: the lazy thumbnail, its label or boxes, and the hard-example badge.
import { fileName, fmtPct, h, svg } from "../dom.js";
import { labelChip } from "../labels.js";

const HARD_TYPES = {
  none: { text: "None", kind: "ok" },
  false_detection: { text: "False detection", kind: "hard" },
  missed_detection: { text: "Missed detection", kind: "hard" },
};

export function hardBadge(prediction, detection) {
  if (!prediction) return null;
  const reasons = prediction.hard_reasons.map((r) => r.text).join("\n");
  let text, kind;
  if (detection) {
    ({ text, kind } = HARD_TYPES[prediction.hard_type || "none"]);
  } else {
    [text, kind] = prediction.hard ? ["Hard", "hard"] : ["Not hard", "ok"];
  }
  const title = reasons ? `${text}: ${reasons}` : prediction.hard ? text : `${text}: the model is confident`;
  return h(`span.hard-badge.hard-${kind}`, { title, dataset: { testid: "hard-badge" } }, text);
}

/** Boxes (solid) and hints (dashed, never boxes) drawn over an image in its own pixels. */
export function boxesOverlay(image, boxes, palette, hints = []) {
  return svg("svg", { class: "box-overlay", viewBox: `0 0 ${image.width} ${image.height}` },
    boxes.map((b) => svg("rect", { x: b.x, y: b.y, width: b.w, height: b.h, stroke: palette.color(b.label), class: "overlay-box" })),
    hints.map((b) => svg("rect", { x: b.x, y: b.y, width: b.w, height: b.h, class: "overlay-hint" })),
  );
}

export function thumbTile(item, { palette, detection, tab, selected, onOpen, onSelect }) {
  const prediction = item.prediction;
  const annotation = item.annotation;
  let caption = null, overlay = null;
  if (tab === "to_confirm" && prediction) {
    if (detection) {
      overlay = boxesOverlay(item, prediction.boxes, palette, prediction.hints);
      caption = h("span.small", `${prediction.boxes.length} box${prediction.boxes.length === 1 ? "" : "es"}`);
    } else if (prediction.label) {
      caption = labelChip(palette, prediction.label, { small: true, suffix: prediction.score != null ? fmtPct(prediction.score) : "" });
    }
  } else if (annotation) {
    if (detection) {
      overlay = boxesOverlay(item, annotation.boxes, palette);
      caption = h("span.small", `${annotation.boxes.length} box${annotation.boxes.length === 1 ? "" : "es"}`);
    } else if (annotation.label) {
      caption = labelChip(palette, annotation.label, { small: true });
    }
  }
  if (!caption) caption = h("span.small.muted.tile-name", fileName(item.file));
  const checkbox = tab === "to_confirm"
    ? h("input.tile-check", {
      type: "checkbox", checked: selected, "aria-label": `Select ${fileName(item.file)}`,
      onclick: (event) => { event.stopPropagation(); onSelect(item, event); },
    })
    : null;
  const tile = h(`div.tile${selected ? ".selected" : ""}`, {
    tabindex: 0, role: "button", dataset: { imageId: item.id, state: item.state },
    title: fileName(item.file),
    onclick: (event) => {
      if (checkbox && (event.shiftKey || event.ctrlKey || event.metaKey)) onSelect(item, event);
      else onOpen(item);
    },
    onkeydown: (event) => {
      if (event.key === "Enter") onOpen(item);
      else if (event.key === " " && checkbox) { event.preventDefault(); onSelect(item, event); }
    },
  },
  h("div.tile-image",
    h("img", { src: item.thumbnail_url, alt: fileName(item.file), loading: "lazy", decoding: "async" }),
    overlay,
    tab === "to_confirm" ? hardBadge(prediction, detection) : null),
  h("div.tile-meta", caption),
  checkbox,
  );
  return tile;
}
