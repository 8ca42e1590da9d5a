// A modal built on <dialog>: Escape closes it, focus stays inside, the page behind is inert.
import { fill, h } from "../dom.js";

/**
 * openModal({title, body, actions: [{label, primary, onClick(close) -> Promise|false}]})
 * An action handler that returns false keeps the dialog open (e.g. to show an error).
 */
export function openModal({ title, body, actions = [], wide = false, onClose }) {
  const errorBox = h("div.form-error", { hidden: true, role: "alert" });
  const dialog = h(`dialog.modal${wide ? ".modal-wide" : ""}`);
  const close = () => {
    dialog.close();
  };
  dialog.addEventListener("close", () => {
    dialog.remove();
    onClose?.();
  });
  const buttons = actions.map((action) =>
    h(`button.button${action.primary ? ".primary" : ""}`, {
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
  return { dialog, close, showError };
}
