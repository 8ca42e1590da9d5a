// Short notices in the corner. Every notice fades by itself (errors stay longer, and not while
// the pointer rests on them), a click dismisses it, and at most MAX_TOASTS are stacked: a new
// one pushes the oldest out.
import { h } from "./dom.js";

export const TOAST_TIMEOUTS = { info: 4000, success: 4000, error: 12000 };
export const MAX_TOASTS = 3;
const FADE_MS = 250;

function region() {
  let el = document.getElementById("toasts");
  if (!el) {
    el = h("div#toasts", { role: "status", "aria-live": "polite" });
    document.body.append(el);
  }
  return el;
}

export function toast(message, { kind = "info", details = [], timeout = TOAST_TIMEOUTS[kind] ?? TOAST_TIMEOUTS.info } = {}) {
  let timer = null;
  const close = () => {
    if (item.classList.contains("leaving")) return;
    clearTimeout(timer);
    item.classList.add("leaving");
    setTimeout(() => item.remove(), FADE_MS);
  };
  const start = () => {
    clearTimeout(timer);
    if (timeout) timer = setTimeout(close, timeout);
  };
  const item = h(
    `div.toast.toast-${kind}`,
    { title: "Click to dismiss", role: kind === "error" ? "alert" : null, onclick: close },
    h("div.toast-body", h("div", message), details.length ? h("ul", details.map((d) => h("li", d))) : null),
    h("button.icon-button", { type: "button", title: "Close", "aria-label": "Close" }, "×"),
  );
  item.addEventListener("mouseenter", () => clearTimeout(timer));
  item.addEventListener("mouseleave", start);
  item.addEventListener("dismiss", close);
  const stack = region();
  stack.append(item);
  const shown = [...stack.querySelectorAll(".toast:not(.leaving)")];
  for (const old of shown.slice(0, Math.max(0, shown.length - MAX_TOASTS))) old.dispatchEvent(new Event("dismiss"));
  start();
  return item;
}

export function toastError(error, prefix = "") {
  const message = prefix ? `${prefix}: ${error.message}` : error.message;
  return toast(message, { kind: "error", details: error.reasons || [] });
}
