// The REST API under /api/v1: one function per call the UI makes.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `request failed (${status})`);
    this.status = status;
    this.code = body?.error || "error";
    this.reasons = body?.reasons || [];
    this.jobId = body?.job_id ?? null;
  }
}

const BASE = "/api/v1";

async function request(method, path, { json, form, query } = {}) {
  let url = BASE + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value == null || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  const init = { method, headers: { Accept: "application/json" } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  const response = await fetch(url, init);
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

const ds = (id) => `/datasets/${encodeURIComponent(id)}`;

export const api = {
  datasets: () => request("GET", "/datasets"),
  dataset: (id) => request("GET", ds(id)),
  createDataset: (body) => request("POST", "/datasets", { json: body }),
  deleteDataset: (id) => request("DELETE", ds(id)),
  addLabels: (id, names) => request("POST", `${ds(id)}/labels`, { json: { names } }),

  images: (id, query) => request("GET", `${ds(id)}/images`, { query }),
  image: (id, imageId) => request("GET", `${ds(id)}/images/${imageId}`),
  saveAnnotation: (id, imageId, body) =>
    request("PUT", `${ds(id)}/images/${imageId}/annotation`, { json: body }),
  clearAnnotation: (id, imageId) => request("DELETE", `${ds(id)}/images/${imageId}/annotation`),

  confirm: (id, body) => request("POST", `${ds(id)}/confirm`, { json: body }),
  /** Undo a confirmation: back to "to be confirmed" with the proposal shown before it. */
  unconfirm: (id, imageId, version, prediction) =>
    request("POST", `${ds(id)}/images/${imageId}/unconfirm`, { json: { version, prediction } }),
  /** Undo a rejection: back to "to be confirmed" with the proposal shown before it. */
  restoreProposal: (id, imageId, prediction) =>
    request("POST", `${ds(id)}/images/${imageId}/restore-proposal`, { json: { prediction } }),
  reject: (id, imageIds) => request("POST", `${ds(id)}/reject`, { json: { image_ids: imageIds } }),
  next: (id, n) => request("GET", `${ds(id)}/next`, { query: { n } }),

  importFiles: (id, files, format) => {
    const form = new FormData();
    for (const { file, path } of files) form.append("files", file, path || file.name);
    form.append("format", format || "auto");
    return request("POST", `${ds(id)}/imports`, { form });
  },
  exportUrl: (id, format, states) => {
    const params = new URLSearchParams({ format });
    for (const state of states || []) params.append("state", state);
    return `${BASE}${ds(id)}/export?${params}`;
  },

  startTask: (id, body) => request("POST", `${ds(id)}/tasks`, { json: body }),
  task: (id, taskId) => request("GET", `${ds(id)}/tasks/${taskId}`),
  tasks: (id, limit = 50) => request("GET", `${ds(id)}/tasks`, { query: { limit } }),
  cancelTask: (id, taskId) => request("POST", `${ds(id)}/tasks/${taskId}/cancel`),
  allTasks: (limit = 200) => request("GET", "/tasks", { query: { limit } }),

  models: (taskType) => request("GET", "/models", { query: { task_type: taskType } }),
};

export const ACTIVE_STATES = new Set(["queued", "running"]);
