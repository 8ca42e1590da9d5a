// Import by upload: drop files, a folder or a zip; keeps folder paths (class folders, labels).
import { api } from "../api.js";
import { fmtInt, h } from "../dom.js";
import { toast, toastError } from "../toast.js";

const FORMATS = ["auto", "folder", "imagenet", "coco", "voc", "yolo", "manifest", "labelstudio"];

export function importPanel(dataset, { onImported }) {
  const format = h("select", { "aria-label": "Format" }, FORMATS.map((f) => h("option", { value: f }, f === "auto" ? "Detect format" : f)));
  const filesInput = h("input", { type: "file", multiple: true, hidden: true, accept: "image/*,.zip,.json,.xml,.txt,.manifest" });
  const folderInput = h("input", { type: "file", multiple: true, hidden: true, webkitdirectory: true });
  const report = h("div.import-report");
  const zone = h("div.drop-zone", { tabindex: 0 },
    h("p", h("b", "Drop images, a folder or a .zip here")),
    h("p.small.muted", "Class folders become labels; COCO, VOC, YOLO, ModelArts and Label Studio annotations come along."),
    h("div.actions",
      h("button.button", { type: "button", onclick: () => filesInput.click() }, "Choose files"),
      h("button.button", { type: "button", onclick: () => folderInput.click() }, "Choose folder"),
      format),
  );
  const upload = async (files) => {
    if (!files.length) return;
    zone.classList.add("busy");
    report.replaceChildren(h("p.muted", `Uploading ${fmtInt(files.length)} file(s)…`));
    try {
      const result = await api.importFiles(dataset.id, files, format.value);
      report.replaceChildren(reportView(result));
      toast(`Imported ${fmtInt(result.imported)} images.`, { kind: "success" });
      onImported?.(result);
    } catch (error) {
      report.replaceChildren();
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

function reportView(r) {
  const problems = [...r.skipped.map((s) => `${s.file}: ${s.reason}`), ...r.warnings.map((w) => `${w.file}: ${w.problem}`)];
  return h("div.card.compact",
    h("p", `${r.format} format: imported `, h("b", fmtInt(r.imported)), ` of ${fmtInt(r.found)} (${fmtInt(r.labeled)} labeled, ${fmtInt(r.unlabeled)} unlabeled)`,
      r.duplicates.length ? `, ${fmtInt(r.duplicates.length)} duplicates left out` : "",
      r.labels_added.length ? `; new labels: ${r.labels_added.join(", ")}` : ""),
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
