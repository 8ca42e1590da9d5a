// Manual labeling and review of one image. Classification: click a label or press its key (saved
// at once, then the next image). Detection: draw, move, resize and delete boxes, then save.
// Proposals under review are confirmed as they are (Enter), corrected, or rejected (R; asks first
// when there are unsaved edits). Ctrl+Z undoes, a rejection included.
import { api } from "../api.js";
import { h, onKeys } from "../dom.js";
import { href, navigate } from "../router.js";
import { BoxEditor } from "../components/box_editor.js";
import { EditorQueue } from "../components/editor_queue.js";
import { openModal } from "../components/modal.js";
import { LabelPalette } from "../labels.js";
import { toast, toastError } from "../toast.js";
import { boxList, imageInfo, labelButtons, predictionInfo, shortcutsHelp } from "./editor_panel.js";

// Saved changes, newest last, kept while the page lives so undo reaches across images.
const savedChanges = [];
const preferences = { autoAdvance: true, boxLabel: null };

export async function render(root, [datasetId, imageIdText], query) {
  let dataset, image;
  try {
    [dataset, image] = await Promise.all([api.dataset(datasetId), api.image(datasetId, imageIdText)]);
  } catch (error) {
    toastError(error, "Could not open the image");
    return navigate(`/datasets/${datasetId}/images`);
  }
  const palette = new LabelPalette(dataset.labels);
  const detection = dataset.task_type === "detection";
  const queue = new EditorQueue(dataset.id, image.id);
  const tab = query.tab || image.state;
  const gridQuery = { ...queue.filters, tab, state: undefined };
  const gridHref = href(`/datasets/${dataset.id}/images`, gridQuery);
  let busy = false;

  const stage = h("div.stage", { dataset: { testid: "stage" } });
  const panel = h("aside.editor-panel");
  let editor = null;
  if (detection) {
    const start = image.state === "to_confirm" ? image.prediction?.boxes ?? [] : image.annotation?.boxes ?? [];
    if (!palette.byName.has(preferences.boxLabel)) preferences.boxLabel = palette.labels[0]?.name ?? null;
    editor = new BoxEditor({
      image, src: image.file_url, boxes: start, hints: image.prediction?.hints ?? [], palette,
      currentLabel: preferences.boxLabel, onChange: () => paintPanel(),
    });
    stage.append(editor.element);
  } else {
    stage.append(h("img.stage-photo", { src: image.file_url, alt: image.file }));
  }

  const prevButton = h("button.button", { onclick: () => goPrevious(), disabled: !queue.hasPrevious(), title: "Previous (←)" }, "← Previous");
  const nextButton = h("button.button", { onclick: () => goNext(), title: "Next (→)" }, "Next →");
  root.append(h("div.editor", { dataset: { imageId: image.id, state: image.state } },
    h("div.editor-top",
      h("a.back-link", { href: gridHref }, `← ${dataset.name}`),
      h("div.editor-nav", prevButton, nextButton)),
    h("div.editor-body", stage, panel)));

  const resize = new ResizeObserver(() => editor?.layout(stage.clientWidth - 24, stage.clientHeight - 24));
  resize.observe(stage);

  // Two columns of label buttons once there are more than fit one column comfortably: the
  // panel then shows up to twelve labels without scrolling, and the box list keeps its room.
  const labelColumns = palette.labels.length > (detection ? 2 : 6) ? 2 : 1;

  function paintPanel() {
    const proposed = image.state === "to_confirm" ? image.prediction?.label : null;
    const active = detection ? editor.currentLabel : image.annotation?.label ?? proposed ?? null;
    // One list takes the panel's free height and scrolls inside itself (the boxes in detection,
    // the labels in classification); everything else keeps its size, so the actions stay in view.
    const scrollTops = [...panel.querySelectorAll("[data-scroll]")].map((el) => [el.dataset.scroll, el.scrollTop]);
    const sections = [imageInfo(image, `${queue.index + 1} in this list`)];
    sections.push(h(`section.panel-section.label-section${detection ? "" : ".panel-grow"}`, { dataset: { testid: "label-section" } },
      h("h3", detection ? "Label of new boxes" : "Label"),
      labelButtons(palette, { active, predicted: image.prediction?.label, onPick: pick, columns: labelColumns }),
      palette.labels.length ? null : h("p.small.muted", "This dataset has no labels yet: add them on its overview.")));
    if (detection) {
      sections.push(h("section.panel-section.panel-grow", { dataset: { testid: "box-section" } },
        h("h3", `Boxes (${editor.boxes.length})`), boxList(editor, palette)));
    }
    sections.push(predictionInfo(image, palette, detection, editor?.hints.length));
    sections.push(h("section.panel-section.panel-actions", actionButtons()));
    sections.push(h("div.panel-footer",
      h("label.check.small", { dataset: { testid: "auto-advance" } },
        h("input", { type: "checkbox", checked: preferences.autoAdvance, onchange: (e) => { preferences.autoAdvance = e.target.checked; } }),
        "Next image after saving"),
      shortcutsHelp(detection, panel.querySelector(".shortcuts")?.open, palette)));
    panel.replaceChildren(...sections.filter(Boolean));
    for (const [name, top] of scrollTops) {
      const el = panel.querySelector(`[data-scroll="${name}"]`);
      if (el) el.scrollTop = top;
    }
    if (!scrollTops.length) panel.querySelector(".label-button.active")?.scrollIntoView({ block: "nearest" });
    panel.querySelector(".box-list li.selected")?.scrollIntoView({ block: "nearest" });
  }

  function actionButtons() {
    const buttons = [];
    if (image.state === "to_confirm") {
      const corrected = detection && editor.dirty;
      buttons.push(h("button.button.primary", { onclick: () => save(), dataset: { testid: "confirm-image" } }, corrected ? "Confirm with corrections" : "Confirm (Enter)"));
      buttons.push(h("button.button", { onclick: () => reject(), dataset: { testid: "reject-image" } }, "Reject (R)"));
    } else if (detection) {
      buttons.push(h("button.button.primary", { onclick: () => save(), disabled: !editor.dirty && image.state === "labeled", dataset: { testid: "save-image" } },
        editor.boxes.length ? "Save (Enter)" : "Save: no objects"));
    }
    if (image.state === "labeled") buttons.push(h("button.button", { onclick: () => clearLabel() }, "Remove label"));
    buttons.push(h("button.button.subtle", { onclick: () => undo(), disabled: !savedChanges.length && !(editor?.history.length), dataset: { testid: "undo" } }, "Undo (Ctrl+Z)"));
    return buttons;
  }

  /** Classification: the label is the whole annotation, so choosing it saves it. */
  function pick(label) {
    if (detection) return editor.setLabel((preferences.boxLabel = label));
    if (image.state === "to_confirm") return confirm(label === image.prediction?.label ? null : { label });
    return run(() => api.saveAnnotation(dataset.id, image.id, { label, version: image.annotation?.version ?? 0 }));
  }

  function save() {
    if (!detection) {
      if (image.state === "to_confirm") return confirm(null);
      return goNext();
    }
    const round = (value) => Math.round(value * 100) / 100; // sub-pixel noise of the drag
    const boxes = editor.boxes.map((b) => ({ label: b.label, x: round(b.x), y: round(b.y), w: round(b.w), h: round(b.h) }));
    if (image.state === "to_confirm") return confirm(editor.dirty ? { boxes } : null);
    return run(() => api.saveAnnotation(dataset.id, image.id, { boxes, version: image.annotation?.version ?? 0 }));
  }

  function confirm(correction) {
    const body = correction ? { corrections: [{ image_id: image.id, ...correction }] } : { image_ids: [image.id] };
    return run(async () => {
      const result = await api.confirm(dataset.id, body);
      if (!result.changed) throw new Error(result.skipped[0]?.reason ?? "nothing was confirmed");
      return api.image(dataset.id, image.id);
    });
  }

  /** Runs a saving call, remembers what it replaced (for undo), then moves on. */
  async function run(call) {
    if (busy) return;
    busy = true;
    const before = {
      state: image.state, label: image.annotation?.label ?? null, boxes: image.annotation?.boxes ?? [],
      prediction: image.state === "to_confirm" ? image.prediction : null, // what a confirm replaced
    };
    try {
      image = await call();
      savedChanges.push({ datasetId: dataset.id, imageId: image.id, before, version: image.annotation?.version });
      if (editor) editor.dirty = false;
      if (preferences.autoAdvance) await goNext({ saved: true });
      else paintPanel();
    } catch (error) {
      toastError(error, "Not saved");
      if (error.code === "conflict") reopen(image.id);
    } finally {
      busy = false;
    }
  }

  /** Rejecting drops the proposal; with unsaved edits it asks first (they would be lost). */
  function reject() {
    if (busy || image.state !== "to_confirm") return;
    if (!editor?.dirty) return rejectNow();
    openModal({
      title: "Reject the proposal and discard your edits?",
      body: h("div",
        h("p", "You changed the boxes of this image and did not save them. Rejecting drops the proposal and your edits; the image goes back to Unlabeled."),
        h("p.small.muted", "To keep your boxes, cancel and confirm with corrections (Enter) instead. Ctrl+Z after a rejection brings the proposal back, not your edits.")),
      actions: [
        { label: "Cancel" },
        { label: "Discard edits and reject", primary: true, danger: true, onClick: () => { rejectNow(); } },
      ],
    });
  }

  async function rejectNow() {
    if (busy) return;
    busy = true;
    const proposal = image.prediction;
    try {
      await api.reject(dataset.id, [image.id]);
      // The proposal is gone from the server: keep it here so Ctrl+Z can bring it back.
      savedChanges.push({ kind: "reject", datasetId: dataset.id, imageId: image.id, prediction: proposal });
      if (editor) editor.dirty = false;
      toast("Proposal rejected: the image is back in Unlabeled. Ctrl+Z brings it back.");
      await goNext({ saved: true });
    } catch (error) {
      toastError(error, "Could not reject");
    } finally {
      busy = false;
    }
  }

  async function clearLabel() {
    await run(() => api.clearAnnotation(dataset.id, image.id));
  }

  async function undo() {
    if (editor?.undo()) return;
    const change = savedChanges.pop();
    if (!change) return toast("Nothing to undo.");
    try {
      if (change.kind === "reject") {
        await api.restoreProposal(change.datasetId, change.imageId, change.prediction);
        toast("Rejection undone: the proposal waits in To be confirmed again.");
        return navigate(`/datasets/${change.datasetId}/label/${change.imageId}`, { tab: "to_confirm" }, { replace: true });
      }
      if (change.before.state === "labeled") {
        const { label, boxes } = change.before;
        await api.saveAnnotation(change.datasetId, change.imageId, detection ? { boxes, version: change.version } : { label, version: change.version });
      } else if (change.before.state === "to_confirm" && change.before.prediction) {
        // A confirmation: the image goes back to "To be confirmed" with its proposal.
        await api.unconfirm(change.datasetId, change.imageId, change.version, change.before.prediction);
        toast("Confirmation undone: the proposal waits in To be confirmed again.");
      } else {
        await api.clearAnnotation(change.datasetId, change.imageId);
      }
      reopen(change.imageId);
    } catch (error) {
      toastError(error, "Could not undo");
    }
  }

  function reopen(imageId) {
    navigate(`/datasets/${dataset.id}/label/${imageId}`, { tab }, { replace: true });
  }

  async function goNext({ saved = false } = {}) {
    if (!saved && editor?.dirty && !(await autoSave())) return;
    const next = await queue.next();
    if (next == null) {
      toast(saved ? "Saved. That was the last image of this list." : "That was the last image of this list.");
      if (saved) location.hash = gridHref; // the list is done: back to what is left of it
      else paintPanel();
      return;
    }
    reopen(next);
  }

  async function goPrevious() {
    if (!queue.hasPrevious()) return;
    if (editor?.dirty && !(await autoSave())) return;
    reopen(queue.previous());
  }

  /** Leaving an image with unsaved boxes saves them (a labeling tool should not lose work). */
  async function autoSave() {
    const keepGoing = preferences.autoAdvance;
    preferences.autoAdvance = false;
    try {
      await save();
    } finally {
      preferences.autoAdvance = keepGoing;
    }
    return !editor.dirty;
  }

  const stopKeys = onKeys((event) => {
    const ctrl = event.ctrlKey || event.metaKey;
    if (ctrl && event.key.toLowerCase() === "z") { event.preventDefault(); return undo(); }
    if (ctrl && event.key.toLowerCase() === "s") { event.preventDefault(); return save(); }
    if (ctrl || event.altKey) return;
    if (/^[0-9]$/.test(event.key)) {
      const label = palette.byKey(event.key); // by position, or by name for labels "0".."9"
      if (label) { event.preventDefault(); pick(label); }
    } else if (event.key === "Enter") { event.preventDefault(); save(); }
    else if (event.key === "ArrowRight" || event.key === "d") { event.preventDefault(); goNext(); }
    else if (event.key === "ArrowLeft" || event.key === "a") { event.preventDefault(); goPrevious(); }
    else if ((event.key === "Delete" || event.key === "Backspace") && editor) { event.preventDefault(); editor.deleteSelected(); }
    else if (event.key.toLowerCase() === "r" && image.state === "to_confirm") reject();
    else if (event.key === "Escape") {
      if (editor && editor.selected >= 0) editor.select(-1);
      else location.hash = gridHref;
    }
  });

  paintPanel();
  return () => {
    stopKeys();
    resize.disconnect();
  };
}
