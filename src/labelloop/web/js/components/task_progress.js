// A live progress bar for a smart-labeling task: stage, percent, ETA, cancel. Polls the API.
import { ACTIVE_STATES, api } from "../api.js";
import { fmtDuration, fmtInt, fmtPct, h } from "../dom.js";
import { toast, toastError } from "../toast.js";

const POLL_MS = 800;
const TASK_NAMES = { "auto-label": "Active learning", "pre-label": "Pre-labeling" };

/**
 * const progress = new TaskProgress(datasetId, {onFinish(task)}); container.append(progress.element);
 * progress.resume() picks up a task already running; progress.watch(task) follows a new one.
 * progress.stop() ends polling (call it when the page goes away).
 */
export class TaskProgress {
  constructor(datasetId, { onFinish } = {}) {
    this.datasetId = datasetId;
    this.onFinish = onFinish;
    this.timer = null;
    this.stopped = false;
    this.title = h("strong");
    this.detail = h("span.task-detail");
    this.fill = h("div.progress-fill");
    this.cancelButton = h("button.button.small", { onclick: () => this.cancel() }, "Cancel");
    this.element = h("section.task-progress", { hidden: true, "aria-live": "polite", dataset: { testid: "task-progress" } },
      h("div.task-progress-head", h("div", this.title, " ", this.detail), this.cancelButton),
      h("div.progress", { role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }, this.fill),
    );
  }

  async resume() {
    try {
      const [latest] = await api.tasks(this.datasetId, 1);
      if (latest && ACTIVE_STATES.has(latest.state)) this.watch(latest);
    } catch {
      /* the page shows its own errors; a missing progress bar is not worth another */
    }
  }

  watch(task) {
    this.task = task;
    this.element.hidden = false;
    this.render(task);
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  async poll() {
    try {
      const task = await api.task(this.datasetId, this.task.task_id);
      this.task = task;
      this.render(task);
      if (ACTIVE_STATES.has(task.state)) this.schedule();
      else this.finish(task);
    } catch (error) {
      this.detail.textContent = `(cannot reach the server: ${error.message}; retrying)`;
      this.schedule();
    }
  }

  render(task) {
    const name = TASK_NAMES[task.task_type] || task.task_type;
    const percent = task.state === "succeeded" ? 1 : task.total ? task.done / task.total : 0;
    const indeterminate = ACTIVE_STATES.has(task.state) && !task.total;
    this.title.textContent = `${name} #${task.task_id}: ${task.state === "running" ? task.stage : task.state}`;
    const parts = [];
    if (task.total) parts.push(`${fmtInt(task.done)} / ${fmtInt(task.total)} (${fmtPct(percent)})`);
    if (task.eta_seconds) parts.push(`about ${fmtDuration(task.eta_seconds)} left`);
    if (task.state === "queued") parts.push("waiting for its worker to start");
    this.detail.textContent = parts.join(" · ");
    this.fill.style.width = indeterminate ? "" : `${(percent * 100).toFixed(1)}%`;
    this.fill.parentElement.classList.toggle("indeterminate", indeterminate);
    this.fill.parentElement.setAttribute("aria-valuenow", Math.round(percent * 100));
    this.element.dataset.state = task.state;
    this.cancelButton.hidden = !ACTIVE_STATES.has(task.state);
  }

  async cancel() {
    this.cancelButton.disabled = true;
    try {
      this.render(await api.cancelTask(this.datasetId, this.task.task_id));
    } catch (error) {
      toastError(error, "Could not cancel");
    } finally {
      this.cancelButton.disabled = false;
    }
  }

  finish(task) {
    if (task.state === "succeeded") {
      const published = task.result?.published ?? 0;
      toast(`Smart labeling finished: ${fmtInt(published)} images to confirm.`, { kind: "success" });
      this.detail.textContent = `${fmtInt(published)} images are waiting in "To be confirmed".`;
    } else if (task.state === "failed" || task.state === "interrupted") {
      toast(`Smart labeling ${task.state}: ${task.error || "no reason given"}`, { kind: "error" });
      this.detail.textContent = task.error || "";
    } else {
      this.detail.textContent = "Nothing was changed.";
    }
    this.onFinish?.(task);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
