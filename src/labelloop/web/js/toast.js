// Short notices in the corner; errors stay until closed.
import { h } from "./dom.js";

function region() {
  let el = document.getElementById("toasts");
  if (!el) {
    el = h("div#toasts", { role: "status", "aria-live": "polite" });
    document.body.append(el);
  }
  return el;
}

export function toast(message, { kind = "info", details = [], timeout = 4000 } = {}) {
  const close = () => item.remove();
  const item = h(
    `div.toast.toast-${kind}`,
    h("div.toast-body", h("div", message), details.length ? h("ul", details.map((d) => h("li", d))) : null),
    h("button.icon-button", { onclick: close, title: "Close", "aria-label": "Close" }, "×"),
  );
  region().append(item);
  if (kind !== "error" && timeout) setTimeout(close, timeout);
  return item;
}

export function toastError(error, prefix = "") {
  const message = prefix ? `${prefix}: ${error.message}` : error.message;
  return toast(message, { kind: "error", details: error.reasons || [] });
}
