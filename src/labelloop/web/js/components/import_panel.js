// Import by upload: drop files, a folder or a zip; keeps folder paths (class folders, labels).
// A big folder goes in several requests (the server takes at most 1,000 files a request), with
// progress across them and one summary of their reports.
import { api } from "../api.js";
import { fmtInt, h } from "../dom.js";
import { toast, toastError } from "../toast.js";

const FORMATS = ["auto", "folder", "imagenet", "coco", "voc", "yolo", "manifest", "labelstudio"];
export const BATCH_LIMITS = { files: 200, bytes: 50 * 1024 * 1024 };
const IMAGE_FILE = /\.(jpe?g|jfif|png|bmp|gif|tiff?|webp)$/i;
// One file that describes every image (COCO, Label Studio, ModelArts manifest) cannot be split.
const WHOLE_DATASET_FILE = /\.(json|jsonl|manifest)$/i;

const dirOf = (path) => path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
const stemOf = (path) => path.slice(path.lastIndexOf("/") + 1).replace(/\.[^.]*$/, "").toLowerCase();

/**
 * Split an upload into requests of at most ``limits.files`` files and ``limits.bytes`` bytes
 * (a bigger file goes alone). An annotation file named like an image (VOC .xml, YOLO .txt)
 * travels with it; files of no image (classes.txt, data.yaml) travel with every request.
 * Folders are interleaved so each request shows the same layout (class folders) to the server.
 * Returns {batches, problem}: problem explains an upload that cannot be split.
 */
export function planBatches(uploads, limits = BATCH_LIMITS) {
  const files = uploads.map(({ file, path }) => ({ file, path: path || file.name }));
  const images = files.filter(({ path }) => IMAGE_FILE.test(path));
  const imageSet = new Set(images);
  const others = files.filter((f) => !imageSet.has(f));
  const imageStems = new Set(images.map(({ path }) => stemOf(path)));
  const shared = others.filter(({ path }) => !imageStems.has(stemOf(path)));
  const companions = new Map();
  for (const f of others) {
    if (imageStems.has(stemOf(f.path))) companions.set(stemOf(f.path), [...(companions.get(stemOf(f.path)) || []), f]);
  }
  // Groups that must share a request: an image alone, or the images and files of one name.
  const groups = [];
  const byStem = new Map();
  for (const f of images) {
    const stem = stemOf(f.path);
    if (!companions.has(stem)) { groups.push([f]); continue; }
    if (!byStem.has(stem)) { byStem.set(stem, [...companions.get(stem)]); groups.push(byStem.get(stem)); }
    byStem.get(stem).unshift(f);
  }
  const size = (list) => list.reduce((sum, { file }) => sum + file.size, 0);
  const sharedSize = size(shared);
  if (size(files) <= limits.bytes && files.length <= limits.files) {
    return { batches: [{ files, count: files.length }], problem: null };
  }
  const whole = shared.find(({ path }) => WHOLE_DATASET_FILE.test(path));
  if (whole) {
    return {
      batches: [],
      problem: `${whole.path} describes every image, so these ${fmtInt(files.length)} files cannot be sent in parts ` +
        `(at most ${fmtInt(limits.files)} files a request). Upload the folder as one .zip with “Choose files”.`,
    };
  }
  // Round-robin over folders: every request holds some of each class folder.
  const byDir = new Map();
  for (const group of groups) {
    const dir = dirOf(group[0].path);
    if (!byDir.has(dir)) byDir.set(dir, []);
    byDir.get(dir).push(group);
  }
  const queues = [...byDir.keys()].sort().map((dir) => byDir.get(dir));
  const ordered = [];
  for (let round = 0; ordered.length < groups.length; round++) {
    for (const queue of queues) if (round < queue.length) ordered.push(queue[round]);
  }
  // count: the files a request adds to the progress (the shared ones count with the first).
  const batches = [];
  const close = () => batches.push({ files: [...shared, ...current], count: current.length + (batches.length ? 0 : shared.length) });
  let current = [], fileCount = shared.length, bytes = sharedSize;
  for (const group of ordered) {
    const groupBytes = size(group);
    if (current.length && (fileCount + group.length > limits.files || bytes + groupBytes > limits.bytes)) {
      close();
      current = []; fileCount = shared.length; bytes = sharedSize;
    }
    current.push(...group);
    fileCount += group.length;
    bytes += groupBytes;
  }
  if (current.length || !batches.length) close();
  return { batches, problem: null };
}

/** One report out of the reports of every request. */
export function mergeReports(reports) {
  const merged = {
    format: reports[0]?.format ?? "", found: 0, imported: 0, labeled: 0, unlabeled: 0, boxes: 0,
    annotated_existing: 0, duplicates: [], skipped: [], warnings: [], labels_added: [],
  };
  const seen = new Set();
  const once = (list, item, keyOf) => {
    const key = keyOf(item);
    if (seen.has(key)) return;
    seen.add(key);
    list.push(item);
  };
  for (const r of reports) {
    for (const key of ["found", "imported", "labeled", "unlabeled", "boxes", "annotated_existing"]) merged[key] += r[key] ?? 0;
    merged.duplicates.push(...r.duplicates);
    // A shared file (classes.txt) goes with every request: report its problems once.
    for (const s of r.skipped) once(merged.skipped, s, (x) => `s\u0000${x.file}\u0000${x.reason}`);
    for (const w of r.warnings) once(merged.warnings, w, (x) => `w\u0000${x.file}\u0000${x.problem}`);
    for (const label of r.labels_added) if (!merged.labels_added.includes(label)) merged.labels_added.push(label);
  }
  return merged;
}

export function importPanel(dataset, { onImported, limits = BATCH_LIMITS } = {}) {
  const format = h("select", { "aria-label": "Format" }, FORMATS.map((f) => h("option", { value: f }, f === "auto" ? "Detect format" : f)));
  const filesInput = h("input", { type: "file", multiple: true, hidden: true, accept: "image/*,.zip,.json,.xml,.txt,.manifest" });
  const folderInput = h("input", { type: "file", multiple: true, hidden: true, webkitdirectory: true });
  const report = h("div.import-report", { dataset: { testid: "import-report" } });
  const zone = h("div.drop-zone", { tabindex: 0 },
    h("p", h("b", "Drop images, a folder or a .zip here")),
    h("p.small.muted", "Class folders become labels; COCO, VOC, YOLO, ModelArts and Label Studio annotations come along."),
    h("div.actions",
      h("button.button", { type: "button", onclick: () => filesInput.click() }, "Choose files"),
      h("button.button", { type: "button", onclick: () => folderInput.click() }, "Choose folder"),
      format),
  );
  const showProgress = (sent, total, parts) => {
    const bar = h("progress", { max: total, value: sent, "aria-label": "Upload progress" });
    report.replaceChildren(h("div.upload-progress", { dataset: { testid: "upload-progress" } },
      h("p.small", parts > 1
        ? [`Uploading… ${fmtInt(sent)} of ${fmtInt(total)} files sent`, h("span.muted", ` (in ${fmtInt(parts)} parts of at most ${fmtInt(limits.files)} files)`)]
        : `Uploading ${fmtInt(total)} file${total === 1 ? "" : "s"}…`),
      bar));
  };
  const upload = async (files) => {
    if (!files.length) return;
    const { batches, problem } = planBatches(files, limits);
    if (problem) {
      report.replaceChildren(h("p.form-error", problem));
      return;
    }
    zone.classList.add("busy");
    const reports = [];
    let sent = 0, chosen = format.value;
    showProgress(0, files.length, batches.length);
    try {
      for (const batch of batches) {
        const result = await api.importFiles(dataset.id, batch.files, chosen);
        reports.push(result);
        if (chosen === "auto" && result.format) chosen = result.format; // one layout: keep it
        sent += batch.count;
        if (reports.length < batches.length) showProgress(sent, files.length, batches.length);
      }
      const merged = mergeReports(reports);
      report.replaceChildren(reportView(merged, { parts: batches.length }));
      toast(`Imported ${fmtInt(merged.imported)} images.`, { kind: "success" });
      onImported?.(merged);
    } catch (error) {
      if (reports.length) {
        const merged = mergeReports(reports);
        report.replaceChildren(reportView(merged, { parts: reports.length }),
          h("p.form-error", `Stopped after ${fmtInt(sent)} of ${fmtInt(files.length)} files: ${error.message}. ` +
            "Upload the folder again to add the rest (images already imported are left out as duplicates)."));
        onImported?.(merged);
      } else {
        report.replaceChildren();
      }
      toastError(error, "Import failed");
    } finally {
      zone.classList.remove("busy");
    }
  };
  const fromInput = (input) => () => {
    upload([...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    input.value = "";
  };
  filesInput.addEventListener("change", fromInput(filesInput));
  folderInput.addEventListener("change", fromInput(folderInput));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    upload(await droppedFiles(e.dataTransfer));
  });
  return h("div.import-panel", zone, filesInput, folderInput, report);
}

function reportView(r, { parts = 1 } = {}) {
  const problems = [...r.skipped.map((s) => `${s.file}: ${s.reason}`), ...r.warnings.map((w) => `${w.file}: ${w.problem}`)];
  return h("div.card.compact", { dataset: { testid: "import-summary" } },
    h("p", `${r.format} format: imported `, h("b", fmtInt(r.imported)), ` of ${fmtInt(r.found)} (${fmtInt(r.labeled)} labeled, ${fmtInt(r.unlabeled)} unlabeled)`,
      r.annotated_existing ? `, ${fmtInt(r.annotated_existing)} images already here labeled` : "",
      r.duplicates.length ? `, ${fmtInt(r.duplicates.length)} duplicates left out` : "",
      r.labels_added.length ? `; new labels: ${r.labels_added.join(", ")}` : "",
      parts > 1 ? h("span.muted", ` — sent in ${fmtInt(parts)} parts`) : null),
    problems.length
      ? h("details", h("summary", `${fmtInt(problems.length)} file(s) skipped or with warnings`), h("ul.small", problems.slice(0, 200).map((p) => h("li", p))))
      : null,
  );
}

/** Files of a drop, walking dropped folders so their relative paths survive. */
async function droppedFiles(transfer) {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...transfer.files].map((file) => ({ file, path: file.name }));
  const out = [];
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      let batch;
      do {
        batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      } while (batch.length);
    }
  }
  for (const entry of entries) await walk(entry, "");
  return out;
}
