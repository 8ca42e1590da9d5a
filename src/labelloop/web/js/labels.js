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

  /** Keys 1–9 pick a label by its position; but when every label name is itself a key (a
   * single digit: "0".."9" of a sign-digits set), the key IS the name, so 3 means "3". The
   * hints next to the labels and the keyboard both ask here. */
  get digitNames() {
    return this.labels.length > 0 && this.labels.every((label) => /^[0-9]$/.test(label.name));
  }

  /** The key of a label ("1".."9", or the digit it is named), or null. */
  key(name) {
    const index = this.byName.get(name)?.index;
    if (index == null) return null;
    if (this.digitNames) return name;
    return index < 9 ? String(index + 1) : null;
  }

  /** The label a key picks (a string "0".."9"), or null. */
  byKey(key) {
    const text = String(key);
    if (!/^[0-9]$/.test(text)) return null;
    if (this.digitNames) return this.byName.has(text) ? text : null;
    return text === "0" ? null : this.labels[Number(text) - 1]?.name ?? null;
  }

  /** The keys in words, for help texts: "1–9", "1–3", "0–9". */
  keysText() {
    const keys = this.labels.map((label) => this.key(label.name)).filter((k) => k != null).sort();
    if (!keys.length) return "1–9";
    return keys.length === 1 ? keys[0] : `${keys[0]}–${keys[keys.length - 1]}`;
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

/** The key hint of a label (<kbd>), or null when no key picks it. */
export function labelKey(palette, name) {
  const key = palette.key(name);
  return key == null ? null : h("kbd", { title: `Press ${key} for ${name}` }, key);
}

export function swatch(color) {
  return h("span.swatch", { style: { background: color } });
}
