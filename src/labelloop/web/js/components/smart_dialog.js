// "Start smart labeling", as in ModelArts: active learning (fast / accurate for classification)
// or pre-labeling with a registry model of the dataset's task type.
import { api } from "../api.js";
import { fmtDate, h } from "../dom.js";
import { openModal } from "./modal.js";

const ALGORITHMS = [
  { value: "fast", title: "Fast", hint: "Trains only on the labeled images. Quick." },
  { value: "accurate", title: "Accurate", hint: "Also learns from the unlabeled images (semi-supervised). Slower, more accurate." },
];

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

  const modelSelect = h("select", { name: "model", "aria-label": "Model" },
    models.map((m) => h("option", { value: m.id },
      `${m.ref} — ${m.source}, ${m.class_names.length} classes${m.created_at ? `, ${fmtDate(m.created_at)}` : ""}`)));
  const modelField = h("div.field", { hidden: true },
    h("label.field", h("span", `Model (${dataset.task_type} models only)`),
      models.length ? modelSelect : h("p.muted", `No ${dataset.task_type} models in the registry yet: run active learning once, or register one with `, h("code", "labelloop model register"), ".")));

  const chosenType = () => types.map((t) => t.querySelector("input")).find((i) => i.checked).value;
  for (const t of types) {
    t.querySelector("input").addEventListener("change", () => {
      const pre = chosenType() === "pre-label";
      modelField.hidden = !pre;
      algorithmField.hidden = pre;
    });
  }

  openModal({
    title: "Start smart labeling",
    body: h("div.form",
      h("fieldset.field", h("legend", "Type"), h("div.choices", types)),
      algorithmField,
      modelField,
      h("p.small.muted", "Needs at least 2 labels with 5 labeled images each, and unlabeled images. Labeled images are never changed; results wait in “To be confirmed”."),
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
}
