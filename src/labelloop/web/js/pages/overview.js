// Dataset overview: counts by state, label distribution, recent jobs, import and export.
import { api } from "../api.js";
import { fmtInt, h } from "../dom.js";
import { href, navigate } from "../router.js";
import { datasetHeader } from "../components/dataset_header.js";
import { importPanel } from "../components/import_panel.js";
import { jobsTable } from "../components/jobs_table.js";
import { openModal } from "../components/modal.js";
import { openSmartLabelingDialog } from "../components/smart_dialog.js";
import { STATES, stateBar } from "../components/state_bar.js";
import { TaskProgress } from "../components/task_progress.js";
import { LabelPalette, labelKey, swatch } from "../labels.js";
import { toastError } from "../toast.js";

const EXPORT_FORMATS = {
  classification: ["imagenet", "manifest", "labelstudio", "folder"],
  detection: ["coco", "voc", "yolo", "manifest", "labelstudio", "folder"],
};

export async function render(root, [datasetId]) {
  let dataset;
  try {
    dataset = await api.dataset(datasetId);
  } catch (error) {
    toastError(error, "Could not open the dataset");
    return navigate("/datasets");
  }
  const progress = new TaskProgress(dataset.id, { onFinish: () => refresh() });
  const body = h("div.overview");
  const jobsBox = h("div");
  const startLink = h("a.button.primary", "Start labeling");
  // Made once: a refresh after an import must not wipe the import's report.
  const importer = importPanel(dataset, { onImported: () => refresh() });
  root.append(
    datasetHeader(dataset, "overview", [
      h("button.button", { onclick: () => openSmartLabelingDialog(dataset, { onStarted: (task) => progress.watch(task) }) }, "Start smart labeling"),
      startLink,
    ]),
    progress.element,
    body,
  );

  async function refresh() {
    dataset = await api.dataset(dataset.id);
    startLink.href = startLabelingHref(dataset);
    body.replaceChildren(
      h("div.overview-main",
        countsCard(dataset),
        labelsCard(dataset),
        h("section.card", h("div.card-head", h("h2", "Recent jobs"), h("a.small", { href: href("/jobs", { dataset: dataset.id }) }, "All jobs")), jobsBox),
      ),
      h("div.overview-side",
        h("section.card", h("h2", "Import images"), importer),
        exportCard(dataset),
        h("section.card.danger-zone", h("h2", "Delete dataset"),
          h("p.small.muted", "Removes its images, labels, predictions and jobs."),
          h("button.button.danger", { onclick: () => confirmDelete(dataset) }, "Delete…")),
      ),
    );
    api.tasks(dataset.id, 5).then((tasks) => jobsBox.replaceChildren(jobsTable(tasks))).catch(() => {});
  }
  await refresh();
  progress.resume();
  return () => progress.stop();
}

/** Unlabeled images first; a dataset with none opens on the tab that has work. */
function startLabelingHref(dataset) {
  const tab = dataset.counts.unlabeled ? "unlabeled" : dataset.counts.to_confirm ? "to_confirm" : "labeled";
  return href(`/datasets/${dataset.id}/images`, { tab });
}

function countsCard(dataset) {
  return h("section.card",
    h("div.card-head", h("h2", "Images"), h("span.muted", `${fmtInt(dataset.counts.total)} in all`)),
    h("div.count-tiles", STATES.map((s) =>
      h(`a.count-tile.state-border-${s.key}`, { href: href(`/datasets/${dataset.id}/images`, { tab: s.key }), dataset: { testid: `count-${s.key}` } },
        h("span.count-title", s.title), h("b.count-value", fmtInt(dataset.counts[s.key]))))),
    stateBar(dataset.counts),
  );
}

function labelsCard(dataset) {
  const max = Math.max(1, ...dataset.labels.map((l) => l.images + l.predicted));
  const detection = dataset.task_type === "detection";
  const palette = new LabelPalette(dataset.labels);
  const rows = dataset.labels.map((label) =>
    h("div.dist-row", { dataset: { label: label.name } },
      h("span.dist-name", { title: label.name }, swatch(label.color), h("span.dist-label", label.name), labelKey(palette, label.name)),
      h("span.dist-bar",
        h("span.dist-labeled", { style: { width: `${(label.images / max) * 100}%`, background: label.color } }),
        label.predicted ? h("span.dist-predicted", { style: { width: `${(label.predicted / max) * 100}%`, borderColor: label.color } }) : null),
      h("span.dist-count", fmtInt(label.images), detection ? h("small.muted", ` (${fmtInt(label.boxes)} boxes)`) : null,
        label.predicted ? h("small.muted", ` +${fmtInt(label.predicted)} to confirm`) : null),
    ));
  const addInput = h("input", { placeholder: "New label", "aria-label": "New label", autocomplete: "off" });
  const add = async (event) => {
    event.preventDefault();
    const names = addInput.value.split(",").map((s) => s.trim()).filter(Boolean);
    if (!names.length) return;
    try {
      await api.addLabels(dataset.id, names);
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) {
      toastError(error, "Could not add the label");
    }
  };
  return h("section.card",
    h("div.card-head", h("h2", "Labels"), h("span.small.muted", detection ? "Labeled images and boxes per label" : "Labeled images per label; outline: proposed by smart labeling")),
    rows.length ? h("div.dist", rows) : h("p.muted", "No labels yet."),
    h("form.inline-form", { onsubmit: add }, addInput, h("button.button.small", { type: "submit" }, "Add label")),
  );
}

function exportCard(dataset) {
  const format = h("select", { "aria-label": "Export format" }, EXPORT_FORMATS[dataset.task_type].map((f) => h("option", { value: f }, f)));
  const states = STATES.map((s) => h("label.check", h("input", { type: "checkbox", value: s.key, checked: s.key !== "unlabeled" }), s.title));
  const link = h("a.button", { download: "" }, "Download zip");
  const update = () => {
    const chosen = states.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    link.href = api.exportUrl(dataset.id, format.value, chosen);
  };
  format.addEventListener("change", update);
  states.forEach((s) => s.addEventListener("change", update));
  update();
  return h("section.card", h("h2", "Export"),
    h("div.form-row", format, link),
    h("div.checks", states),
    h("p.small.muted", "Predictions travel with their scores and hard-example flags."));
}

function confirmDelete(dataset) {
  const input = h("input", { placeholder: dataset.name, "aria-label": "Dataset name" });
  openModal({
    title: `Delete ${dataset.name}?`,
    body: h("div.form", h("p", "This deletes every image, label, prediction and job of the dataset. Type its name to confirm."), input),
    actions: [
      { label: "Cancel" },
      {
        label: "Delete dataset", primary: true, danger: true,
        onClick: async (close, showError) => {
          if (input.value !== dataset.name) {
            showError("The name does not match.");
            return false;
          }
          await api.deleteDataset(dataset.id);
          navigate("/datasets");
        },
      },
    ],
  });
}
