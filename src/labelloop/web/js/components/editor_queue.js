// The list the editor walks with next / previous: the grid page it was opened from (kept in
// sessionStorage so a reload keeps it), then further pages fetched by keyset on demand.
import { api } from "../api.js";

const KEY = "labelloop.editor-queue";

/** filters: the grid's query ({state, label, hard, ...}); ids: the page the user saw. */
export function rememberQueue(datasetId, filters, ids) {
  sessionStorage.setItem(KEY, JSON.stringify({ datasetId: String(datasetId), filters, ids }));
}

export class EditorQueue {
  constructor(datasetId, imageId) {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    const usable = saved && saved.datasetId === String(datasetId) && saved.ids.includes(imageId);
    this.datasetId = datasetId;
    this.filters = usable ? saved.filters : {};
    this.ids = usable ? saved.ids : [imageId];
    this.index = this.ids.indexOf(imageId);
    this.exhausted = false;
  }

  save() {
    rememberQueue(this.datasetId, this.filters, this.ids);
  }

  get current() {
    return this.ids[this.index];
  }

  hasPrevious() {
    return this.index > 0;
  }

  previous() {
    if (this.index > 0) this.index -= 1;
    return this.current;
  }

  /** The next image id, fetching the next page after the last known id; null at the end. */
  async next() {
    if (this.index + 1 >= this.ids.length && !this.exhausted) {
      const last = this.ids[this.ids.length - 1];
      const page = await api.images(this.datasetId, { ...this.filters, after: last, limit: 50 });
      const fresh = page.items.map((item) => item.id).filter((id) => !this.ids.includes(id));
      this.ids.push(...fresh);
      this.exhausted = page.next_after == null;
      this.save();
    }
    if (this.index + 1 >= this.ids.length) return null;
    this.index += 1;
    return this.current;
  }
}
