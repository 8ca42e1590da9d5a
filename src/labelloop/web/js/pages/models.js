// The model registry: versions trained by smart labeling, uploaded ONNX models, remote models.
// Register (an ONNX file with its contract, or a remote endpoint), export and delete them here.
import { ApiError, api } from "../api.js";
import { fmtDate, h } from "../dom.js";
import { href } from "../router.js";
import { openModal } from "../components/modal.js";
import { toast, toastError } from "../toast.js";

const SOURCES = { trained: "Trained here", onnx: "ONNX upload", remote: "Remote endpoint" };
const TASK_TYPES = { classification: "Classification", detection: "Detection" };
const MAX_UPLOAD_BYTES = 2 * 1024 ** 3; // the server's cap (services/models.py)
const BASE = "/api/v1/models";
const CONTRACT_EXAMPLE = `{
  "task_type": "classification",
  "class_names": ["cat", "dog"],
  "size": [224, 224],
  "mean": [123.7, 116.3, 103.5],
  "std": [58.4, 57.1, 57.4],
  "channels": "RGB",
  "layout": "NCHW",
  "resize": "center-crop",
  "input_name": "images",
  "outputs_probabilities": false
}`;
const CODE_BOX = {
  width: "100%", minHeight: "150px", padding: "8px 12px", resize: "vertical",
  border: "1px solid var(--border-strong)", borderRadius: "var(--radius-small)",
  fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", fontSize: "12px",
};

export async function render(root, _params, query) {
  const filter = query.task_type || "";
  const table = h("div.card", h("p.muted", "Loading…"));
  const register = () => openRegisterDialog({ taskType: filter, onRegistered: load });
  root.append(
    h("div.page-header",
      h("div", h("h1", "Models"), h("p.muted", "Every smart-labeling run saves a model version here; use one to pre-label another dataset.")),
      h("div.actions",
        h("div.segmented", [["", "All"], ["classification", "Classification"], ["detection", "Detection"]].map(([value, text]) =>
          h(`a${value === filter ? ".active" : ""}`, { href: href("/models", { task_type: value }) }, text))),
        h("button.button.primary", { onclick: register }, "Register model"))),
    table,
  );

  async function load() {
    try {
      const [models, datasets] = await Promise.all([api.models(filter || undefined), api.datasets()]);
      const names = new Map(datasets.map((d) => [d.id, d.name]));
      table.replaceChildren(models.length ? modelsTable(models, names, load) : h("div.empty",
        h("p", "No models yet."),
        h("p.small.muted", "Run active learning on a dataset, or register an ONNX model or a remote endpoint (also ", h("code", "labelloop model register"), ")."),
        h("button.button.primary", { onclick: register }, "Register model")));
    } catch (error) {
      toastError(error, "Could not load models");
    }
  }
  await load();
}

function modelsTable(models, datasetNames, reload) {
  return h("table.table",
    h("thead", h("tr", ["Model", "Task", "Source", "Classes", "Metrics", "From", "Created", ""].map((t) => h("th", t)))),
    h("tbody", models.map((m) => h("tr", { dataset: { modelId: m.id, modelRef: m.ref } },
      h("td", h("b", m.name), h("span.muted", `:${m.version}`)),
      h("td", h(`span.badge.badge-${m.task_type}`, m.task_type)),
      h("td", SOURCES[m.source] ?? m.source),
      h("td", h("span.small", { title: m.class_names.join(", ") }, classesText(m.class_names))),
      h("td", h("span.small", { title: JSON.stringify(m.metrics, null, 1) }, metricsText(m.metrics))),
      h("td", m.dataset_id ? h("a", { href: `#/datasets/${m.dataset_id}` }, datasetNames.get(m.dataset_id) ?? `dataset ${m.dataset_id}`) : "", m.job_id ? h("div.small.muted", `job ${m.job_id}`) : null),
      h("td.nowrap", fmtDate(m.created_at)),
      h("td.nowrap", h("div.actions",
        m.source === "remote"
          ? null
          : h("a.button.small", { href: `${BASE}/${encodeURIComponent(m.ref)}/export`, download: "", title: "Download model.onnx and contract.json as a zip" }, "Export"),
        h("button.button.small.danger", { onclick: () => confirmDelete(m, reload) }, "Delete…"))),
    ))));
}

function confirmDelete(model, onDeleted) {
  openModal({
    title: `Delete model ${model.ref}?`,
    body: h("div.form",
      h("p", "This removes version ", h("b", model.ref), model.source === "remote" ? " from the registry (the endpoint itself is not touched)." : " and its files from the registry."),
      h("p.small.muted", "Datasets keep the predictions it made. A pre-labeling job that is queued or running with it must finish or be cancelled first.")),
    actions: [
      { label: "Cancel" },
      {
        label: "Delete", primary: true,
        onClick: async () => {
          await call("DELETE", `/${encodeURIComponent(model.ref)}`);
          toast(`Deleted model ${model.ref}.`, { kind: "success" });
          onDeleted();
        },
      },
    ],
  });
}

function openRegisterDialog({ taskType, onRegistered }) {
  const name = h("input", { name: "name", required: true, placeholder: "e.g. pets-resnet", autocomplete: "off", pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]*" });
  const kinds = [
    ["onnx", "ONNX file", "A .onnx model with its contract: input size, normalisation, outputs."],
    ["remote", "Remote endpoint", "A Label Studio ML backend: GET /health, POST /predict."],
  ].map(([value, title, hint], index) =>
    h("label.choice", h("input", { type: "radio", name: "model-kind", value, checked: index === 0 }),
      h("span", h("b", title), h("small", hint))));
  const kind = () => kinds.map((k) => k.querySelector("input")).find((i) => i.checked).value;

  // An ONNX file and its contract (a contract.json, loaded into the box, or pasted).
  const onnxInput = h("input", { type: "file", accept: ".onnx", hidden: true, "aria-label": "ONNX file" });
  const onnxName = h("span.small.muted", "No file chosen");
  onnxInput.addEventListener("change", () => {
    const file = onnxInput.files[0];
    onnxName.textContent = file ? `${file.name} (${sizeText(file.size)})` : "No file chosen";
  });
  const contractText = h("textarea", { rows: 9, spellcheck: false, placeholder: CONTRACT_EXAMPLE, "aria-label": "Contract JSON", style: CODE_BOX });
  const contractInput = h("input", { type: "file", accept: ".json,application/json", hidden: true, "aria-label": "Contract file" });
  contractInput.addEventListener("change", async () => {
    const file = contractInput.files[0];
    if (file) contractText.value = await file.text();
    contractInput.value = "";
  });
  const progressFill = h("div.progress-fill");
  const progressText = h("span.small.muted");
  const progress = h("div.field", { hidden: true }, h("div.progress", progressFill), progressText);
  const onnxSection = h("div.form",
    h("div.field", h("span", "Model file"),
      h("div.actions", h("button.button", { type: "button", onclick: () => onnxInput.click() }, "Choose .onnx file"), onnxName), onnxInput),
    h("div.field", h("span", "Contract"),
      h("div.actions", h("button.button", { type: "button", onclick: () => contractInput.click() }, "Load contract.json"), h("span.small.muted", "or paste it below")),
      contractInput, contractText,
      h("small.muted", "task_type and class_names are required; size [w, h], mean, std, channels (RGB/BGR), layout (NCHW/NHWC), resize, input_name, outputs_probabilities and output_names have defaults. The model is run once to check that it fits.")),
    progress);

  // A remote endpoint.
  const url = h("input", { type: "url", placeholder: "http://127.0.0.1:9090", autocomplete: "off" });
  const remoteTask = h("select", Object.entries(TASK_TYPES).map(([value, text]) => h("option", { value }, text)));
  if (taskType) remoteTask.value = taskType;
  const classes = h("input", { placeholder: "cat, dog, …", autocomplete: "off" });
  const number = (value, attrs) => h("input", { type: "number", value, style: { width: "100%" }, ...attrs });
  const timeout = number(60, { min: 1, step: "any" });
  const retries = number(3, { min: 0, step: 1 });
  const batch = number(8, { min: 1, step: 1 });
  const transport = h("select",
    h("option", { value: "http" }, "URLs served by labelloop (http)"),
    h("option", { value: "data-uri" }, "Inline in the request (data URI)"));
  const remoteStatus = h("p.small.muted", { hidden: true });
  const remoteSection = h("div.form", { hidden: true },
    h("label.field", h("span", "Endpoint URL"), url),
    h("label.field", h("span", "Task type"), remoteTask),
    h("label.field", h("span", "Classes"), classes, h("small.muted", "Comma-separated. Leave empty when the backend lists them at /setup.")),
    h("details",
      h("summary.small.muted", "Timeout, retries, batch size, image transport"),
      h("div.choices", { style: { marginTop: "var(--s3)" } },
        h("label.field", h("span", "Timeout (s per request)"), timeout),
        h("label.field", h("span", "Retries"), retries),
        h("label.field", h("span", "Images per request"), batch),
        h("label.field", h("span", "Images are sent as"), transport))),
    remoteStatus);

  for (const k of kinds) {
    k.querySelector("input").addEventListener("change", () => {
      onnxSection.hidden = kind() !== "onnx";
      remoteSection.hidden = kind() !== "remote";
    });
  }

  let upload = null;
  const modal = openModal({
    title: "Register model",
    wide: true,
    onClose: () => upload?.abort(),
    body: h("div.form",
      h("label.field", h("span", "Name"), name, h("small.muted", "Letters, digits, '.', '_' and '-'. Registering a name again adds a version.")),
      h("fieldset.field", h("legend", "Source"), h("div.choices", kinds)),
      onnxSection,
      remoteSection),
    actions: [
      { label: "Cancel" },
      {
        label: "Register", primary: true,
        onClick: async (_close, showError) => {
          // The reason may sit below a long form: bring it into view.
          const fail = (message, reasons) => {
            showError(message, reasons);
            modal.dialog.querySelector(".form-error")?.scrollIntoView({ block: "nearest" });
            return false;
          };
          try {
            const created = await register(fail);
            if (!created) return false;
            toast(`Registered model ${created.ref}.`, { kind: "success" });
            onRegistered(created);
          } catch (error) {
            return fail(error.message, error.reasons);
          }
        },
      },
    ],
  });
  name.focus();

  async function register(fail) {
    const modelName = name.value.trim();
    if (!modelName) return fail("Give the model a name.");
    let created;
    if (kind() === "onnx") {
      const file = onnxInput.files[0];
      const contract = contractText.value.trim();
      if (!file) return fail("Choose the .onnx file.");
      if (!contract) return fail("Give the model's contract: load its contract.json or paste it.");
      if (file.size > MAX_UPLOAD_BYTES) {
        return fail(`${file.name} is larger than 2 GiB; register it on the server with labelloop model register.`);
      }
      const form = new FormData();
      form.append("name", modelName);
      form.append("contract", contract);
      form.append("file", file, file.name);
      progress.hidden = false;
      const shown = (share) => {
        progressFill.style.width = `${Math.round(share * 100)}%`;
        progressText.textContent = share < 1 ? `Uploading ${file.name}: ${Math.round(share * 100)}%` : "Checking the model against its contract…";
      };
      shown(0);
      upload = uploadModel(form, shown);
      try {
        created = await upload.done;
      } finally {
        upload = null;
        progress.hidden = true;
      }
    } else {
      const body = {
        name: modelName,
        url: url.value.trim(),
        task_type: remoteTask.value,
        class_names: classes.value.split(",").map((c) => c.trim()).filter(Boolean),
        image_transport: transport.value,
      };
      for (const [key, input] of [["timeout_s", timeout], ["retries", retries], ["batch_size", batch]]) {
        if (input.value !== "") body[key] = Number(input.value);
      }
      remoteStatus.textContent = `Checking ${body.url || "the endpoint"}…`;
      remoteStatus.hidden = false;
      try {
        created = await call("POST", "/remote", body);
      } finally {
        remoteStatus.hidden = true;
      }
    }
    return created;
  }
}

/** POST the form with upload progress (fetch has none); done rejects with an ApiError. */
function uploadModel(form, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open("POST", BASE);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(new ApiError(xhr.status, xhr.response));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { message: "The upload failed: the connection to the server was lost." })));
    xhr.addEventListener("abort", () => reject(new ApiError(0, { message: "The upload was cancelled." })));
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}

/** A JSON call to /api/v1/models... (errors carry the API's message and reasons). */
async function call(method, path, json) {
  const init = { method, headers: { Accept: "application/json" } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(BASE + path, init);
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function sizeText(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit ? `${value.toFixed(1)} ${units[unit]}` : `${value} bytes`;
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
