// The header of every dataset page: breadcrumb, task type, and the dataset's sections.
import { h } from "../dom.js";

const SECTIONS = [
  { key: "overview", title: "Overview", path: (id) => `#/datasets/${id}` },
  { key: "images", title: "Images", path: (id) => `#/datasets/${id}/images` },
  { key: "next", title: "Label next", path: (id) => `#/datasets/${id}/next`, classification: true },
];

export function datasetHeader(dataset, active, actions = []) {
  const sections = SECTIONS.filter((s) => !s.classification || dataset.task_type === "classification");
  return h("div.dataset-header",
    h("div.page-header",
      h("div",
        h("nav.breadcrumb", h("a", { href: "#/datasets" }, "Datasets"), h("span", "/")),
        h("h1", dataset.name, " ", h(`span.badge.badge-${dataset.task_type}`,
          dataset.task_type === "detection" ? "Object detection" : "Image classification")),
      ),
      h("div.actions", actions),
    ),
    h("nav.subnav", sections.map((s) =>
      h(`a${s.key === active ? ".active" : ""}`, { href: s.path(dataset.id) }, s.title))),
  );
}
