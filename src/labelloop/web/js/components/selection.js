// Which images of the "To be confirmed" tab are selected: some ids (ticked on any page of the
// same filters), and/or "every image not hard under these filters" (across all pages, minus
// those unticked), so 100k not-hard images never travel as ids.

export class Selection {
  /** notHard(item): is the tile's proposal one that "select all not hard" covers? */
  constructor(onChange, { notHard = (item) => !item.prediction?.hard } = {}) {
    this.explicit = new Map(); // id -> whether that image is not hard
    this.allNotHard = null; // {total, excluded: Set} when "all not hard" is on
    this.anchor = null;
    this.onChange = onChange;
    this.notHard = notHard;
  }

  /** The ids ticked one by one (on this page or others). */
  get ids() {
    return new Set(this.explicit.keys());
  }

  clear() {
    this.explicit.clear();
    this.allNotHard = null;
    this.anchor = null;
    this.onChange?.();
  }

  covered(item) {
    return Boolean(this.allNotHard) && this.notHard(item);
  }

  has(item) {
    if (this.covered(item)) return !this.allNotHard.excluded.has(item.id);
    return this.explicit.has(item.id);
  }

  get size() {
    if (!this.allNotHard) return this.explicit.size;
    const hardOnes = [...this.explicit.values()].filter((notHard) => !notHard).length;
    return Math.max(0, this.allNotHard.total - this.allNotHard.excluded.size) + hardOnes;
  }

  /** How many selected images are not among ``items`` (the page on screen). */
  elsewhere(items) {
    const here = items.filter((item) => this.has(item)).length;
    return Math.max(0, this.size - here);
  }

  toggle(item, on = !this.has(item)) {
    if (this.covered(item)) {
      if (on) this.allNotHard.excluded.delete(item.id);
      else this.allNotHard.excluded.add(item.id);
    } else if (on) {
      this.explicit.set(item.id, this.notHard(item));
    } else {
      this.explicit.delete(item.id);
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

  /** ``total``: the not-hard images matching the filters on screen, on every page. */
  selectAllNotHard(total) {
    for (const [id, notHard] of this.explicit) if (notHard) this.explicit.delete(id); // covered now
    this.allNotHard = { total, excluded: new Set() };
    this.onChange?.();
  }

  /** The filters' not-hard count changed (images confirmed or rejected elsewhere). */
  updateNotHardTotal(total) {
    if (this.allNotHard) this.allNotHard.total = total;
  }

  selectPage(items) {
    for (const item of items) if (!this.has(item)) this.toggle(item, true);
  }
}
