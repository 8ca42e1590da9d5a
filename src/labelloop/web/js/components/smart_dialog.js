// "Start smart labeling", as in ModelArts: active learning (fast / accurate for classification)
// or pre-labeling with a registry model of the dataset's task type, whose classes are mapped to
// the dataset's labels here.
import { api } from "../api.js";
import { fmtDate, h } from "../dom.js";
import { openModal } from "./modal.js";

const ALGORITHMS = [
  { value: "fast", title: "Fast", hint: "Trains only on the labeled images. Quick." },
  { value: "accurate", title: "Accurate", hint: "Also learns from the unlabeled images (semi-supervised). Slower, more accurate." },
];

// What each kind needs before it starts (domain/preconditions.py, services/prelabel_checks.py).
const NEEDS = {
  classification: "Needs at least 2 labels with 5 labeled images each, and images without a label.",
  detection: "Needs at least 2 labels, each with boxes on at least 5 labeled images, and images without boxes. Proposes rectangles only.",
  "pre-label": "Needs a model whose classes map to at least one label, and images without a label.",
};
const IGNORE = "";

/**
 * The model class -> dataset label mapping the server applies on its own: the exact name, else
 * the one label equal ignoring case. null when the class matches no label that way.
 */
export function automaticLabel(className, labels) {
  if (labels.includes(className)) return className;
  const folded = labels.filter((label) => label.toLowerCase() === className.toLowerCase());
  return folded.length === 1 ? folded[0] : null;
}

function mappingEditor(dataset) {
  const labels = dataset.labels.map((l) => l.name);
  const rows = h("div.map-rows");
  const summary = h("p.small.muted");
  const element = h("fieldset.field.label-map", { dataset: { testid: "label-map" } },
    h("legend", "Model classes → dataset labels"), summary, rows);
  let selects = [];

  function paintSummary() {
    const mapped = selects.filter(({ select }) => select.value !== IGNORE).length;
    summary.textContent = `${mapped} of ${selects.length} classes mapped. ` +
      "Unmapped classes are ignored and listed in the job's report. A class named like a label always maps to it.";
  }

  function show(model) {
    selects = (model?.class_names ?? []).map((className) => {
      const automatic = automaticLabel(className, labels);
      const select = h("select", { "aria-label": `Label for ${className}`, dataset: { modelClass: className } },
        // The server maps same-named classes by itself: "ignore" would not hold for them.
        automatic ? null : h("option", { value: IGNORE }, "— ignore —"),
        labels.map((label) => h("option", { value: label, selected: label === automatic }, label)));
      select.addEventListener("change", paintSummary);
      return { className, select };
    });
    rows.replaceChildren(...selects.map(({ className, select }) =>
      h("label.map-row", h("span.map-class", { title: className }, className), h("span.muted", "→"), select)));
    element.hidden = !selects.length;
    paintSummary();
  }

  /** {model_class: dataset_label} for every mapped class. */
  function value() {
    return Object.fromEntries(selects.filter(({ select }) => select.value !== IGNORE)
      .map(({ className, select }) => [className, select.value]));
  }
  return { element, show, value };
}

export async function openSmartLabelingDialog(dataset, { onStarted }) {
  const detection = dataset.task_type === "detection";
  const models = await api.models(dataset.task_type).catch(() => []);

  const typeChoice = (value, title, hint, checked) =>
    h("label.choice", h("input", { type: "radio", name: "smart-type", value, checked }),
      h("span", h("b", title), h("small", hint)));
  const types = [
    typeChoice("auto-label", "Active learning", "Trains a model on your labeled images, labels the rest and flags the hard ones.", true),
    typeChoice("pre-label", "Pre-labeling", "Labels the images with a model from the registry.", false),
  ];
  const algorithms = ALGORITHMS.map((a, index) =>
    h("label.choice", h("input", { type: "radio", name: "algorithm", value: a.value, checked: index === 0 }),
      h("span", h("b", a.title), h("small", a.hint))));
  const algorithmField = detection
    ? h("p.field.muted", "Object detection: active learning proposes rectangles; there is no algorithm to choose.")
    : h("fieldset.field", h("legend", "Algorithm"), h("div.choices", algorithms));

  const mapping = mappingEditor(dataset);
  const modelSelect = h("select", { name: "model", "aria-label": "Model" },
    models.map((m) => h("option", { value: m.id },
      `${m.ref} — ${m.source}, ${m.class_names.length} classes${m.created_at ? `, ${fmtDate(m.created_at)}` : ""}`)));
  const chosenModel = () => models.find((m) => String(m.id) === modelSelect.value);
  modelSelect.addEventListener("change", () => mapping.show(chosenModel()));
  const modelField = h("div.field", { hidden: true },
    h("label.field", h("span", `Model (${dataset.task_type} models only)`),
      models.length ? modelSelect : h("p.muted", { dataset: { testid: "no-models" } },
        `No ${dataset.task_type} models in the registry yet: run active learning once, or register one (an ONNX file or a remote endpoint) on the `,
        h("a", { href: `#/models?task_type=${dataset.task_type}` }, "Models page"), "; from the command line, ", h("code", "labelloop model register"), ".")),
    models.length ? mapping.element : null);
  mapping.show(chosenModel());

  const needs = h("p.small.muted", { dataset: { testid: "smart-needs" } });
  const chosenType = () => types.map((t) => t.querySelector("input")).find((i) => i.checked).value;
  function paintType() {
    const pre = chosenType() === "pre-label";
    modelField.hidden = !pre;
    algorithmField.hidden = pre;
    needs.textContent = `${NEEDS[pre ? "pre-label" : dataset.task_type]} Labeled images are never changed; results wait in “To be confirmed”.`;
  }
  paintType();

  const modal = openModal({
    title: "Start smart labeling",
    body: h("div.form",
      h("fieldset.field", h("legend", "Type"), h("div.choices", types)),
      algorithmField,
      modelField,
      needs,
    ),
    actions: [
      { label: "Cancel" },
      {
        label: "Start", primary: true,
        onClick: async (close, showError) => {
          const body = { task_type: chosenType(), config: {} };
          if (body.task_type === "auto-label" && !detection) {
            body.config.algorithm_type = algorithms.map((a) => a.querySelector("input")).find((i) => i.checked).value;
          }
          if (body.task_type === "pre-label") {
            if (!models.length) {
              showError("Choose a model first.");
              return false;
            }
            body.model_id = Number(modelSelect.value);
            const labelMap = mapping.value();
            if (!Object.keys(labelMap).length) {
              showError("Map at least one model class to a label of the dataset.");
              return false;
            }
            body.label_map = labelMap;
          }
          try {
            onStarted(await api.startTask(dataset.id, body));
          } catch (error) {
            showError(error.code === "precondition_failed" ? "Smart labeling cannot start yet:" : error.message, error.reasons);
            return false;
          }
        },
      },
    ],
  });
  // The reasons shown are those of the type tried: another type starts clean.
  for (const t of types) {
    t.querySelector("input").addEventListener("change", () => {
      modal.clearError();
      paintType();
    });
  }
}
