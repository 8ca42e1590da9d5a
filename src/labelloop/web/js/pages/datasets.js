// Datasets: the list, and creating one (name, task type, labels).
import { api } from "../api.js";
import { fmtDate, fmtInt, h } from "../dom.js";
import { navigate } from "../router.js";
import { openModal } from "../components/modal.js";
import { stateBar, stateLegend } from "../components/state_bar.js";
import { toastError } from "../toast.js";

const TASK_TYPES = {
  classification: { title: "Image classification", hint: "One label per image" },
  detection: { title: "Object detection", hint: "Rectangles around objects" },
};

export async function render(root) {
  const list = h("div.dataset-list", h("p.muted", "Loading…"));
  root.append(
    h("div.page-header",
      h("div", h("h1", "Datasets"), h("p.muted", "Label a few images, let smart labeling do the rest, confirm the hard ones.")),
      h("button.button.primary", { onclick: () => openCreateDialog() }, "New dataset"),
    ),
    list,
  );
  try {
    const datasets = await api.datasets();
    list.replaceChildren(...(datasets.length ? datasets.map(datasetCard) : [emptyState()]));
  } catch (error) {
    toastError(error, "Could not load datasets");
  }
}

function datasetCard(ds) {
  const total = ds.counts.total;
  return h("a.card.dataset-card", { href: `#/datasets/${ds.id}`, dataset: { datasetName: ds.name } },
    h("div.dataset-card-head",
      h("h2", ds.name),
      h(`span.badge.badge-${ds.task_type}`, TASK_TYPES[ds.task_type].title),
    ),
    h("div.dataset-card-total", h("b", fmtInt(total)), total === 1 ? " image" : " images"),
    stateBar(ds.counts),
    stateLegend(ds.counts),
    h("div.muted.small", `Created ${fmtDate(ds.created_at)}`),
  );
}

function emptyState() {
  return h("div.empty",
    h("h2", "No datasets yet"),
    h("p", "Create one and upload images, or run ", h("code", "labelloop demo"), " for a ready-made example."),
    h("button.button.primary", { onclick: () => openCreateDialog() }, "New dataset"),
  );
}

export function openCreateDialog() {
  const name = h("input", { name: "name", required: true, placeholder: "e.g. pets", autocomplete: "off", pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]*" });
  const types = Object.entries(TASK_TYPES).map(([value, info], index) =>
    h("label.choice",
      h("input", { type: "radio", name: "task_type", value, checked: index === 0 }),
      h("span", h("b", info.title), h("small", info.hint)),
    ),
  );
  const labels = labelInput();
  openModal({
    title: "New dataset",
    body: h("div.form",
      h("label.field", h("span", "Name"), name, h("small.muted", "Letters, digits, '.', '_' and '-'.")),
      h("fieldset.field", h("legend", "Task type"), h("div.choices", types)),
      h("label.field", h("span", "Labels"), labels.element, h("small.muted", "Press Enter or comma after each label. You can add more later.")),
    ),
    actions: [
      { label: "Cancel" },
      {
        label: "Create", primary: true,
        onClick: async () => {
          const taskType = types.map((t) => t.querySelector("input")).find((i) => i.checked).value;
          const created = await api.createDataset({ name: name.value.trim(), task_type: taskType, labels: labels.values() });
          navigate(`/datasets/${created.id}`);
        },
      },
    ],
  });
  name.focus();
}

/** A text box that turns "cat, dog" into chips; values() includes what is still typed. */
function labelInput() {
  const chosen = [];
  const chips = h("span.tag-list");
  const input = h("input.tag-input", { placeholder: "cat, dog, …", "aria-label": "Labels" });
  const add = (text) => {
    for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
      if (chosen.includes(part)) continue;
      chosen.push(part);
      const chip = h("span.tag", part, h("button.tag-remove", {
        type: "button", "aria-label": `Remove ${part}`,
        onclick: () => { chosen.splice(chosen.indexOf(part), 1); chip.remove(); },
      }, "×"));
      chips.append(chip);
    }
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === ",") {
      event.preventDefault();
      add(input.value);
      input.value = "";
    } else if (event.key === "Backspace" && !input.value && chosen.length) {
      chosen.pop();
      chips.lastChild?.remove();
    }
  });
  input.addEventListener("blur", () => { add(input.value); input.value = ""; });
  return {
    element: h("div.tag-box", { onclick: () => input.focus() }, chips, input),
    values: () => { add(input.value); input.value = ""; return [...chosen]; },
  };
}
