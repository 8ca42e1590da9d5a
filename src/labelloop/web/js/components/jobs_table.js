// Job (task) history with metrics: used by the overview and the Jobs page.
import { fmtDate, fmtDuration, h } from "../dom.js";

const KIND = { "auto-label": "Active learning", "pre-label": "Pre-labeling" };

export function jobsTable(tasks, { datasetNames } = {}) {
  if (!tasks.length) return h("p.muted", "No smart-labeling jobs yet.");
  return h("table.table.jobs-table",
    h("thead", h("tr",
      h("th", "#"), datasetNames ? h("th", "Dataset") : null, h("th", "Type"), h("th", "State"),
      h("th", "Started"), h("th", "Took"), h("th", "Result"))),
    h("tbody", tasks.map((t) => h("tr", { dataset: { taskId: t.task_id } },
      h("td", t.task_id),
      datasetNames ? h("td", h("a", { href: `#/datasets/${t.dataset_id}` }, datasetNames.get(t.dataset_id) ?? t.dataset_id)) : null,
      h("td", KIND[t.task_type] ?? t.task_type, h("div.small.muted", describeConfig(t.config))),
      h("td", h(`span.status.status-${t.state}`, t.state), t.error ? h("div.small.error-text", { title: t.error }, t.error) : null),
      h("td.nowrap", fmtDate(t.started_at || t.created_at)),
      h("td.nowrap", took(t)),
      h("td", metricsSummary(t)),
    ))),
  );
}

function describeConfig(config = {}) {
  if (config.model) return `model ${config.model}`;
  if (config.algorithm) return `${config.algorithm} algorithm`;
  return "";
}

function took(t) {
  if (!t.started_at) return "";
  const end = t.finished_at ? new Date(t.finished_at) : new Date();
  return fmtDuration((end - new Date(t.started_at)) / 1000);
}

// The figures people look for first, in this order; every other figure is one hover away.
const HEADLINE_METRICS = [
  "cv_accuracy", "estimated_accuracy", "estimated_precision_not_hard", "hard_images",
  "ap50_estimate", "precision_at_show", "recall_at_show",
];

function metricsSummary(t) {
  const shown = [];
  if (t.result?.published != null) shown.push(`${t.result.published} proposed`);
  const metrics = t.metrics || {};
  const keys = [...HEADLINE_METRICS.filter((k) => k in metrics), ...Object.keys(metrics)];
  for (const key of new Set(keys)) {
    if (shown.length >= 4) break;
    const value = metrics[key];
    if (typeof value === "number") shown.push(`${key.replaceAll("_", " ")} ${formatMetric(key, value)}`);
  }
  const everything = JSON.stringify({ ...metrics, ...(t.result || {}) }, null, 1);
  return h("span.small", { title: everything }, shown.join(" · "));
}

function formatMetric(key, value) {
  if (/accuracy|precision|recall|ap50/.test(key) && value >= 0 && value <= 1) return `${(value * 100).toFixed(1)}%`;
  return formatNumber(value);
}

function formatNumber(value) {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) <= 1 ? value.toFixed(3) : value.toFixed(1);
}
