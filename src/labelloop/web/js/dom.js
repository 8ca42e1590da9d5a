// Building DOM without innerHTML: every piece of user data goes in as text, never as markup.

/**
 * h("div.card#x", {onclick, dataset: {id: 1}, title: "..."}, child, "text", [more])
 * The first argument is a tag with optional .classes and #id.
 */
export function h(spec, props, ...children) {
  if (props == null || typeof props !== "object" || props instanceof Node || Array.isArray(props)) {
    if (props != null) children.unshift(props);
    props = {};
  }
  const [tagAndId, ...classes] = spec.split(".");
  const [tag, id] = tagAndId.split("#");
  const el = document.createElement(tag || "div");
  if (id) el.id = id;
  if (classes.length) el.classList.add(...classes.filter(Boolean));
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("aria-") && value != null) {
      el.setAttribute(key, String(value)); // aria-pressed="false" means something
      continue;
    }
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "style" && typeof value === "object") {
      for (const [name, css] of Object.entries(value)) {
        if (name.startsWith("--")) el.style.setProperty(name, css);
        else el.style[name] = css;
      }
    } else if (key === "class") {
      el.classList.add(...String(value).split(" ").filter(Boolean));
    } else if (key in el && typeof value !== "string") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value != null) el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child != null) el.append(child instanceof Node ? child : document.createTextNode(child));
  }
  return el;
}

/** Replace the children of ``el``; null and false children are left out. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const numberFormat = new Intl.NumberFormat();
export const fmtInt = (n) => numberFormat.format(n ?? 0);
export const fmtPct = (x, digits = 0) => `${((x ?? 0) * 100).toFixed(digits)}%`;

export function fmtDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

export function fmtDuration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fileName(path) {
  return String(path ?? "").split(/[\\/]/).pop();
}

/** Attach a keydown handler to the document; returns the function that removes it. */
export function onKeys(handler) {
  const listener = (event) => {
    const target = event.target;
    const typing = target instanceof HTMLElement &&
      (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
    if (typing || document.querySelector("dialog[open]")) return;
    handler(event);
  };
  document.addEventListener("keydown", listener);
  return () => document.removeEventListener("keydown", listener);
}
