// "Label next": the open images the query ranks first (most uncertain, spread out).
import { api } from "../api.js";
import { fileName, fmtInt, fmtPct, h } from "../dom.js";
import { navigate } from "../router.js";
import { datasetHeader } from "../components/dataset_header.js";
import { rememberQueue } from "../components/editor_queue.js";
import { LabelPalette, labelChip } from "../labels.js";
import { toastError } from "../toast.js";

const HOW_MANY = 24;

export async function render(root, [datasetId]) {
  let dataset;
  try {
    dataset = await api.dataset(datasetId);
  } catch (error) {
    toastError(error, "Could not open the dataset");
    return navigate("/datasets");
  }
  const palette = new LabelPalette(dataset.labels);
  const body = h("div", h("p.muted", "Ranking the open images… (the first time, every image is embedded once)"));
  root.append(
    datasetHeader(dataset, "next"),
    h("p.lead", "Labeling these first teaches the model the most: the images it is least sure about, spread over the dataset so they are not near-copies."),
    body,
  );
  let result;
  try {
    result = await api.next(dataset.id, HOW_MANY);
  } catch (error) {
    body.replaceChildren(h("div.empty", h("p", error.message)));
    return;
  }
  if (!result.items.length) {
    body.replaceChildren(h("div.empty", h("p", "Nothing left to label.")));
    return;
  }
  const ids = result.items.map((s) => s.image_id);
  const open = (id) => {
    rememberQueue(dataset.id, { state: "unlabeled" }, ids);
    navigate(`/datasets/${dataset.id}/label/${id}`, { tab: "unlabeled" });
  };
  body.replaceChildren(
    h("p.small.muted", result.model ? `Ranked by the uncertainty of model ${result.model}.` : "No model trained on this dataset yet: ranked by diversity alone. Once active learning (Start smart labeling) has trained one, its uncertainty ranks them; pre-labeling with a registry model does not.",
      result.ranked_from < result.open_images
        ? ` Drawn from ${fmtInt(result.ranked_from)} of ${fmtInt(result.open_images)} open images (a smart-labeling job prepares the rest).`
        : ""),
    h("div.grid", result.items.map((s) =>
      h("div.tile", { tabindex: 0, role: "button", dataset: { imageId: s.image_id }, onclick: () => open(s.image_id), onkeydown: (e) => e.key === "Enter" && open(s.image_id) },
        h("div.tile-image",
          h("img", { src: `/api/v1/datasets/${dataset.id}/images/${s.image_id}/thumbnail`, alt: fileName(s.file), loading: "lazy" }),
          h("span.rank", `#${s.rank}`)),
        h("div.tile-meta",
          s.predicted ? labelChip(palette, s.predicted, { small: true, suffix: s.score != null ? fmtPct(s.score) : "" }) : h("span.small.muted.tile-name", fileName(s.file)),
          h("span.small.muted.nowrap", { title: "How much labeling it would teach the model" }, `utility ${s.utility.toFixed(2)}`))))),
  );
}
