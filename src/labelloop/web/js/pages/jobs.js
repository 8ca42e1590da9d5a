// Job history of every dataset (or one), with states, durations and metrics.
import { ACTIVE_STATES, api } from "../api.js";
import { h } from "../dom.js";
import { jobsTable } from "../components/jobs_table.js";
import { toastError } from "../toast.js";

const REFRESH_MS = 3000;

export async function render(root, _params, query) {
  const box = h("div.card", h("p.muted", "Loading…"));
  root.append(
    h("div.page-header", h("div", h("h1", "Jobs"), h("p.muted", "Smart-labeling runs, newest first. Hover a result for every metric."))),
    box,
  );
  let timer = null;
  async function load() {
    try {
      const [datasets, tasks] = await Promise.all([
        api.datasets(),
        query.dataset ? api.tasks(query.dataset, 200) : api.allTasks(200),
      ]);
      box.replaceChildren(jobsTable(tasks, { datasetNames: new Map(datasets.map((d) => [d.id, d.name])) }));
      // Keep running jobs' rows current without a reload.
      if (tasks.some((t) => ACTIVE_STATES.has(t.state))) timer = setTimeout(load, REFRESH_MS);
    } catch (error) {
      toastError(error, "Could not load jobs");
    }
  }
  await load();
  return () => clearTimeout(timer);
}
