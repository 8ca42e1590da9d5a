// Which images of the "To be confirmed" tab are selected: some ids, or "every image not hard"
// (across all pages, minus those unticked), so 100k not-hard images never travel as ids.

export class Selection {
  constructor(onChange) {
    this.ids = new Set();
    this.allNotHard = null; // {total, excluded: Set} when "all not hard" is on
    this.anchor = null;
    this.onChange = onChange;
  }

  clear() {
    this.ids.clear();
    this.allNotHard = null;
    this.anchor = null;
    this.onChange?.();
  }

  has(item) {
    if (this.allNotHard && !item.prediction?.hard) return !this.allNotHard.excluded.has(item.id);
    return this.ids.has(item.id);
  }

  get size() {
    const extra = this.allNotHard ? this.allNotHard.total - this.allNotHard.excluded.size : 0;
    return this.ids.size + extra;
  }

  toggle(item, on = !this.has(item)) {
    if (this.allNotHard && !item.prediction?.hard) {
      if (on) this.allNotHard.excluded.delete(item.id);
      else this.allNotHard.excluded.add(item.id);
    } else if (on) {
      this.ids.add(item.id);
    } else {
      this.ids.delete(item.id);
    }
    this.anchor = item.id;
    this.onChange?.();
  }

  /** Shift-click: everything between the last clicked tile and this one takes its new state. */
  extend(items, item) {
    const from = items.findIndex((i) => i.id === this.anchor);
    const to = items.findIndex((i) => i.id === item.id);
    if (from < 0 || to < 0) return this.toggle(item);
    const on = !this.has(item);
    const [start, end] = from < to ? [from, to] : [to, from];
    for (const each of items.slice(start, end + 1)) this.toggle(each, on);
    this.anchor = item.id;
    this.onChange?.();
  }

  selectAllNotHard(total) {
    this.allNotHard = { total, excluded: new Set() };
    this.onChange?.();
  }

  selectPage(items) {
    for (const item of items) if (!this.has(item)) this.toggle(item, true);
  }
}
