// The details page: tabs Unlabeled / To be confirmed / Labeled, each a paged thumbnail grid
// (keyset pages, lazy thumbnails), filters, and batch confirmation of smart-labeling results.
import { api } from "../api.js";
import { fill, fmtInt, h } from "../dom.js";
import { href, navigate } from "../router.js";
import { confirmAdvice } from "../components/confirm_advice.js";
import { datasetHeader } from "../components/dataset_header.js";
import { rememberQueue } from "../components/editor_queue.js";
import { Selection } from "../components/selection.js";
import { openModal } from "../components/modal.js";
import { openSmartLabelingDialog } from "../components/smart_dialog.js";
import { STATES } from "../components/state_bar.js";
import { TaskProgress } from "../components/task_progress.js";
import { thumbTile } from "../components/thumb_tile.js";
import { LabelPalette } from "../labels.js";
import { toast, toastError } from "../toast.js";
import { confirmSelection, countNotHard, filterBar, hasFilters } from "./details_filters.js";

const PAGE_SIZE = 60;
// The selection outlives a page change (Next, Previous, a visit to the editor) as long as the
// filters stay the same; other filters start with nothing selected.
let kept = { key: null, selection: null };

function tabHint(tab, palette) {
  if (tab === "unlabeled") return `Open an image to label it: ${palette.keysText()} picks a label, → goes on.`;
  return "Labeled by a person. Open one to change it.";
}

export async function render(root, [datasetId], query) {
  let dataset;
  try {
    dataset = await api.dataset(datasetId);
  } catch (error) {
    toastError(error, "Could not open the dataset");
    return navigate("/datasets");
  }
  const tab = STATES.some((s) => s.key === query.tab) ? query.tab : "unlabeled";
  const detection = dataset.task_type === "detection";
  const palette = new LabelPalette(dataset.labels);
  const filters = { state: tab, label: query.label, hard: query.hard, hard_type: query.hard_type, min_score: query.min_score, max_score: query.max_score };
  const cursors = query.prev ? query.prev.split(",").map(Number) : [];
  const after = Number(query.after || 0);

  // The filters this grid shows, and (once painted) data-ready: the old page's grid stays in
  // the document until the new one has loaded, so tests and scripts wait on these.
  const grid = h("div.grid", { dataset: { testid: "grid", tab, hard: query.hard || "", hardType: query.hard_type || "", label: query.label || "" } });
  const pager = h("div.pager");
  const selectionBar = h("div.selection-bar");
  const tabsNav = h("nav.tabs", { role: "tablist" });
  const advice = h("p.small.muted.confirm-advice", { dataset: { testid: "confirm-advice" } });
  let page = { items: [], total: 0, next_after: null };
  let notHardTotal = 0;
  const key = JSON.stringify([dataset.id, tab, query.label, query.hard, query.hard_type, query.min_score, query.max_score]);
  if (kept.key !== key) kept = { key, selection: new Selection() };
  const selection = kept.selection;
  selection.onChange = () => paintSelection();
  const progress = new TaskProgress(dataset.id, { onFinish: () => reload() });

  const go = (changes) => navigate(`/datasets/${dataset.id}/images`, { ...query, ...changes });

  root.append(...[
    datasetHeader(dataset, "images", [
      h("button.button", { onclick: () => openSmartLabelingDialog(dataset, { onStarted: (task) => progress.watch(task) }) }, "Start smart labeling"),
    ]),
    progress.element,
    tabsNav,
    h("div.toolbar", filterBar({ tab, detection, palette, query, go }), tab === "to_confirm" ? selectionBar : h("span.small.muted", tabHint(tab, palette))),
    tab === "to_confirm" ? advice : null,
    grid,
    pager,
  ].filter(Boolean));

  function paintTabs() {
    tabsNav.replaceChildren(...STATES.map((s) =>
      h(`a.tab${s.key === tab ? ".active" : ""}`, {
        role: "tab", "aria-selected": s.key === tab, href: href(`/datasets/${dataset.id}/images`, { tab: s.key }), dataset: { tab: s.key },
      }, s.title, h("span.tab-count", fmtInt(dataset.counts[s.key])))));
  }

  function open(item) {
    rememberQueue(dataset.id, filters, page.items.map((i) => i.id));
    navigate(`/datasets/${dataset.id}/label/${item.id}`, { tab });
  }

  function onSelect(item, event) {
    if (event.shiftKey) selection.extend(page.items, item);
    else selection.toggle(item);
  }

  function paintGrid() {
    grid.dataset.ready = "true";
    if (!page.items.length) {
      grid.replaceChildren(h("div.empty.grid-empty", emptyText(tab, dataset, query, palette)));
    } else {
      grid.replaceChildren(...page.items.map((item) =>
        thumbTile(item, { palette, detection, tab, selected: selection.has(item), onOpen: open, onSelect })));
    }
    const first = page.items.length ? cursors.length * PAGE_SIZE + 1 : 0;
    pager.replaceChildren(
      h("span.muted", page.items.length ? `${fmtInt(first)}–${fmtInt(first + page.items.length - 1)} of ${fmtInt(page.total)}` : ""),
      h("div.actions",
        h("button.button", {
          disabled: !cursors.length && !after,
          onclick: () => go({ after: cursors.length ? cursors[cursors.length - 1] || "" : "", prev: cursors.slice(0, -1).join(",") }),
        }, "← Previous"),
        h("button.button", {
          disabled: page.next_after == null,
          onclick: () => go({ after: page.next_after, prev: [...cursors, after].join(",") }),
        }, "Next →")),
    );
  }

  function paintSelection() {
    for (const tile of grid.querySelectorAll(".tile")) {
      const item = page.items.find((i) => i.id === Number(tile.dataset.imageId));
      if (!item) continue;
      const on = selection.has(item);
      tile.classList.toggle("selected", on);
      const box = tile.querySelector(".tile-check");
      if (box) box.checked = on;
    }
    if (tab !== "to_confirm") return;
    const count = selection.size;
    const elsewhere = selection.elsewhere(page.items);
    const what = detection ? "without problems" : "not hard";
    const scope = hasFilters(query) ? "matching the filters on screen" : "waiting for confirmation";
    fill(selectionBar,
      h("button.button.small", { onclick: () => selection.selectPage(page.items) }, "Select page"),
      h("button.button.small", {
        onclick: selectAllNotHard, disabled: !notHardTotal, dataset: { testid: "select-not-hard" },
        title: `Select the ${fmtInt(notHardTotal)} images ${what} ${scope}, on every page`,
      }, `Select all ${what} (${fmtInt(notHardTotal)})`),
      count ? h("button.button.small.subtle", { onclick: () => selection.clear() }, "Clear") : null,
      h("span.selection-count", {
        dataset: { testid: "selection-count" },
        title: count ? "Kept while you page through these filters; changing a filter clears it" : null,
      }, count ? `${fmtInt(count)} selected` : "Nothing selected",
      elsewhere ? h("span.muted", ` · ${fmtInt(elsewhere)} on other pages`) : null),
      h("button.button.small", { disabled: !count, onclick: () => askReject(count), dataset: { testid: "reject-selected" } }, count ? `Reject ${fmtInt(count)}` : "Reject"),
      h("button.button.small.primary", { disabled: !count, onclick: () => act("confirm"), dataset: { testid: "confirm-selected" } }, count ? `Confirm ${fmtInt(count)}` : "Confirm"),
    );
  }

  async function selectAllNotHard() {
    try {
      notHardTotal = await countNotHard(dataset, query);
    } catch (error) {
      return toastError(error, "Could not count the images");
    }
    selection.selectAllNotHard(notHardTotal);
  }

  /** Rejecting drops proposals a job computed: more than one asks first. */
  function askReject(count) {
    if (count <= 1) return act("reject");
    const n = fmtInt(count);
    openModal({
      title: `Reject ${n} proposals?`,
      body: h("div", { dataset: { testid: "reject-dialog" } },
        h("p", `${n} proposals are dropped; the images go back to Unlabeled.`),
        h("p.small.muted", "Labels a person gave are not touched. To get proposals for these images again, run smart labeling.")),
      actions: [
        { label: "Cancel" },
        { label: `Reject ${n}`, primary: true, danger: true, onClick: () => act("reject") },
      ],
    });
  }

  async function act(kind) {
    try {
      const result = await confirmSelection(dataset, selection, kind, query);
      selection.clear();
      await reload();
      toast(`${kind === "confirm" ? "Confirmed" : "Rejected"} ${fmtInt(result.changed)} image${result.changed === 1 ? "" : "s"}.`, { kind: "success" });
    } catch (error) {
      toastError(error, kind === "confirm" ? "Could not confirm" : "Could not reject");
    }
  }

  async function reload() {
    try {
      [dataset, page, notHardTotal] = await Promise.all([
        api.dataset(dataset.id),
        api.images(dataset.id, { ...filters, after, limit: PAGE_SIZE }),
        tab === "to_confirm" ? countNotHard(dataset, query) : 0,
      ]);
      selection.updateNotHardTotal(notHardTotal);
    } catch (error) {
      toastError(error, "Could not load images");
    }
    paintTabs();
    paintGrid();
    paintSelection();
    if (tab === "to_confirm") confirmAdvice(advice, dataset, query);
  }

  await reload();
  progress.resume();
  return () => progress.stop();
}

function emptyText(tab, dataset, query, palette) {
  const filtered = query.label || query.hard || query.hard_type || query.min_score || query.max_score;
  if (filtered) return "No image matches these filters.";
  if (tab === "unlabeled") return dataset.counts.total ? "Every image has a label or a proposal." : "No images yet: import some from the overview.";
  if (tab === "to_confirm") return "Nothing to confirm. Start smart labeling to have the rest labeled for you.";
  return `No labeled images yet. Open an unlabeled image and press ${palette.keysText()} to label it.`;
}
