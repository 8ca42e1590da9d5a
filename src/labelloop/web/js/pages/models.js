// The model registry: versions trained by smart labeling, uploaded ONNX models, remote models.
import { api } from "../api.js";
import { fmtDate, h } from "../dom.js";
import { href } from "../router.js";
import { toastError } from "../toast.js";

const SOURCES = { trained: "Trained here", onnx: "ONNX upload", remote: "Remote endpoint" };

export async function render(root, _params, query) {
  const filter = query.task_type || "";
  const table = h("div.card", h("p.muted", "Loading…"));
  root.append(
    h("div.page-header",
      h("div", h("h1", "Models"), h("p.muted", "Every smart-labeling run saves a model version here; use one to pre-label another dataset.")),
      h("div.segmented", [["", "All"], ["classification", "Classification"], ["detection", "Detection"]].map(([value, text]) =>
        h(`a${value === filter ? ".active" : ""}`, { href: href("/models", { task_type: value }) }, text)))),
    table,
  );
  try {
    const [models, datasets] = await Promise.all([api.models(filter || undefined), api.datasets()]);
    const names = new Map(datasets.map((d) => [d.id, d.name]));
    table.replaceChildren(models.length ? modelsTable(models, names) : h("div.empty",
      h("p", "No models yet."),
      h("p.small.muted", "Run active learning on a dataset, or register an ONNX or remote model with ", h("code", "labelloop model register"), ".")));
  } catch (error) {
    toastError(error, "Could not load models");
  }
}

function modelsTable(models, datasetNames) {
  return h("table.table",
    h("thead", h("tr", ["Model", "Task", "Source", "Classes", "Metrics", "From", "Created"].map((t) => h("th", t)))),
    h("tbody", models.map((m) => h("tr", { dataset: { modelId: m.id } },
      h("td", h("b", m.name), h("span.muted", `:${m.version}`)),
      h("td", h(`span.badge.badge-${m.task_type}`, m.task_type)),
      h("td", SOURCES[m.source] ?? m.source),
      h("td", h("span.small", { title: m.class_names.join(", ") }, classesText(m.class_names))),
      h("td", h("span.small", { title: JSON.stringify(m.metrics, null, 1) }, metricsText(m.metrics))),
      h("td", m.dataset_id ? h("a", { href: `#/datasets/${m.dataset_id}` }, datasetNames.get(m.dataset_id) ?? `dataset ${m.dataset_id}`) : "", m.job_id ? h("div.small.muted", `job ${m.job_id}`) : null),
      h("td.nowrap", fmtDate(m.created_at)),
    ))));
}

function classesText(names) {
  return names.length <= 4 ? names.join(", ") : `${names.slice(0, 4).join(", ")} +${names.length - 4}`;
}

function metricsText(metrics) {
  return Object.entries(metrics || {})
    .filter(([, v]) => typeof v === "number")
    .slice(0, 3)
    .map(([k, v]) => `${k.replaceAll("_", " ")} ${Number.isInteger(v) ? v : v.toFixed(3)}`)
    .join(" · ");
}
