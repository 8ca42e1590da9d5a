// Label colours come from the database (each label has one): every chip, bar and box uses them.
import { h } from "./dom.js";

export class LabelPalette {
  constructor(labels) {
    this.labels = labels;
    this.byName = new Map(labels.map((label, index) => [label.name, { ...label, index }]));
  }

  color(name) {
    return this.byName.get(name)?.color ?? "#888888";
  }

  /** The 1–9 shortcut of a label (its position), or null. */
  key(name) {
    const index = this.byName.get(name)?.index;
    return index != null && index < 9 ? index + 1 : null;
  }

  byKey(digit) {
    return this.labels[digit - 1]?.name ?? null;
  }
}

/** Black or white text, whichever reads better on ``hex``. */
export function textOn(hex) {
  const value = parseInt(String(hex).slice(1), 16);
  const r = (value >> 16) & 255, g = (value >> 8) & 255, b = value & 255;
  const luminance = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  return luminance > 0.6 ? "#111" : "#fff";
}

export function labelChip(palette, name, { suffix = "", small = false, title } = {}) {
  const color = palette.color(name);
  return h(
    `span.chip${small ? ".chip-small" : ""}`,
    { style: { background: color, color: textOn(color) }, title: title ?? name },
    name,
    suffix ? h("span.chip-suffix", suffix) : null,
  );
}

export function swatch(color) {
  return h("span.swatch", { style: { background: color } });
}
