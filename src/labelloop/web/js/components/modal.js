// A modal built on <dialog>: Escape closes it, focus stays inside, the page behind is inert.
// A route change closes every open modal (a dialog left open would block the next page).
import { fill, h } from "../dom.js";

/**
 * openModal({title, body, actions: [{label, primary, danger, onClick(close, showError) -> Promise|false}]})
 * An action handler that returns false keeps the dialog open (e.g. to show an error).
 * ``danger``: the action destroys something (a red button).
 */
export function openModal({ title, body, actions = [], wide = false, onClose }) {
  const errorBox = h("div.form-error", { hidden: true, role: "alert" });
  const dialog = h(`dialog.modal${wide ? ".modal-wide" : ""}`);
  const close = () => {
    if (dialog.open) dialog.close();
  };
  dialog.addEventListener("close", () => {
    dialog.remove();
    onClose?.();
  });
  const buttons = actions.map((action) =>
    h(`button.button${action.primary ? ".primary" : ""}${action.danger ? ".danger-solid" : ""}`, {
      type: action.primary ? "submit" : "button",
      dataset: { action: action.label },
      onclick: async (event) => {
        event.preventDefault();
        if (!action.onClick) return close();
        setBusy(true);
        try {
          const keepOpen = (await action.onClick(close, showError)) === false;
          if (!keepOpen) close();
        } catch (error) {
          showError(error.message, error.reasons);
        } finally {
          setBusy(false);
        }
      },
    }, action.label),
  );
  function setBusy(busy) {
    for (const button of buttons) button.disabled = busy;
  }
  function showError(message, reasons = []) {
    fill(errorBox,
      h("strong", message),
      reasons.length ? h("ul", reasons.map((reason) => h("li", reason))) : null,
    );
    errorBox.hidden = false;
  }
  function clearError() {
    errorBox.replaceChildren();
    errorBox.hidden = true;
  }
  dialog.append(
    h("form.modal-form", { method: "dialog" },
      h("header.modal-header", h("h2", title),
        h("button.icon-button", { type: "button", onclick: close, "aria-label": "Close" }, "×")),
      h("div.modal-body", body, errorBox),
      h("footer.modal-footer", buttons),
    ),
  );
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close, showError, clearError };
}

/** Close every open modal (the router calls it on each route change). */
export function closeAllModals() {
  for (const dialog of document.querySelectorAll("dialog.modal[open]")) dialog.close();
}
