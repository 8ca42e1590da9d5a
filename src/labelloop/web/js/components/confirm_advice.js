// What to do with the proposals waiting for confirmation, from the last smart-labeling job's
// own estimate: check the hard ones, then confirm the rest in bulk. This is the loop's finish
// step that BENCHMARKS.md measures (the person checks the last hard images and bulk-confirms
// the not-hard ones once the job says they are right often enough).
import { api } from "../api.js";
import { fill, fmtInt, fmtPct } from "../dom.js";

/** ``query``: the grid's filters; the counts are those "select all not hard" would take. */
export async function confirmAdvice(element, dataset, query = {}) {
  const detection = dataset.task_type === "detection";
  const filters = {
    state: "to_confirm", label: query.label, hard_type: query.hard_type,
    min_score: query.min_score, max_score: query.max_score,
  };
  const filtered = Boolean(query.label || query.hard || query.hard_type || query.min_score || query.max_score);
  const none = { total: 0 };
  try {
    const [tasks, hard, notHard] = await Promise.all([
      api.tasks(dataset.id, 10),
      query.hard === "false" ? none : api.images(dataset.id, { ...filters, hard: true, limit: 1 }),
      query.hard === "true" ? none : api.images(dataset.id, { ...filters, hard: false, limit: 1 }),
    ]);
    if (!hard.total && !notHard.total) return fill(element);
    const job = tasks.find((t) => t.state === "succeeded" && t.metrics);
    const estimate = job?.metrics?.estimated_precision_not_hard;
    const parts = [];
    if (typeof estimate === "number") {
      parts.push(`Job #${job.task_id} estimates its not-hard proposals ${fmtPct(estimate, 1)} right.`);
    }
    if (filtered) parts.push("With these filters:");
    if (hard.total) parts.push(`${fmtInt(hard.total)} hard to check one by one`);
    if (notHard.total) {
      const label = detection ? "Select all without problems" : "Select all not hard";
      parts.push(`${hard.total ? "then " : ""}${fmtInt(notHard.total)} to confirm in bulk with “${label}”.`);
    }
    fill(element, parts.join(" ").replace(/one by one then/, "one by one, then"));
  } catch {
    fill(element); // advice only: the grid and its errors matter more
  }
}
