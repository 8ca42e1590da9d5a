// Rectangles on an image, in SVG, with the rules Label Studio users know: a drag draws a box
// (on empty space and inside a box that is not selected, so crowded images stay drawable), a
// click selects the box under the pointer, a drag on the selected box moves it, its handles
// resize it; Shift+drag always draws. Delete, relabel, undo. Coordinates are pixels of the
// upright image, the same the API stores. Hints (possible missed objects) are dashed: a click on
// one (or Enter on a focused one) turns it into a box with the hint's label and place, undoable;
// a drag that starts on a hint still draws.
import { h, svg } from "../dom.js";
import { textOn } from "../labels.js";

const HANDLE_PX = 10; // on screen, whatever the zoom
const MIN_BOX_PX = 4; // a drag shorter than this on screen is a click, not a box
const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];

export class BoxEditor {
  constructor({ image, src, boxes, hints = [], palette, currentLabel, onChange }) {
    this.W = image.width;
    this.H = image.height;
    this.boxes = boxes.map((b) => ({ label: b.label, x: b.x, y: b.y, w: b.w, h: b.h, score: b.score }));
    this.hints = hints.map((b) => ({ label: b.label, x: b.x, y: b.y, w: b.w, h: b.h, score: b.score }));
    this.palette = palette;
    this.currentLabel = currentLabel;
    this.onChange = onChange;
    this.selected = -1;
    this.history = [];
    this.dirty = false;
    this.scale = 1;
    this.drag = null;
    this.svg = svg("svg", { class: "box-editor", viewBox: `0 0 ${this.W} ${this.H}`, preserveAspectRatio: "none", "data-testid": "box-editor" });
    this.element = h("div.stage-image", h("img", { src, alt: "", draggable: false }), this.svg);
    this.svg.addEventListener("pointerdown", (e) => this.pointerDown(e));
    this.svg.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.svg.addEventListener("pointerup", (e) => this.pointerUp(e));
    this.svg.addEventListener("pointercancel", () => { this.drag = null; this.render(); });
    this.render();
  }

  /** Fit the image into a stage of ``width`` x ``height`` CSS pixels. */
  layout(width, height) {
    this.scale = Math.min(width / this.W, height / this.H);
    this.element.style.width = `${Math.round(this.W * this.scale)}px`;
    this.element.style.height = `${Math.round(this.H * this.scale)}px`;
    this.element.dataset.laidOut = "true"; // on screen at its size: pointer input maps right
    this.render();
  }

  snapshot() {
    this.history.push({ boxes: this.boxes.map((b) => ({ ...b })), hints: [...this.hints], selected: this.selected });
    if (this.history.length > 100) this.history.shift();
  }

  changed() {
    this.dirty = true;
    this.render();
    this.onChange?.(this);
  }

  undo() {
    const previous = this.history.pop();
    if (!previous) return false;
    this.boxes = previous.boxes;
    this.hints = previous.hints;
    this.selected = Math.min(previous.selected, this.boxes.length - 1);
    this.changed();
    return true;
  }

  select(index) {
    this.selected = index;
    this.render();
    this.onChange?.(this);
  }

  deleteSelected() {
    if (this.selected < 0) return false;
    this.snapshot();
    this.boxes.splice(this.selected, 1);
    this.selected = -1;
    this.changed();
    return true;
  }

  /** A possible missed object becomes a box: the hint's label and place, selected. Undoable. */
  acceptHint(index) {
    const hint = this.hints[index];
    if (!hint) return false;
    this.snapshot();
    this.hints.splice(index, 1);
    this.boxes.push({ label: hint.label, x: hint.x, y: hint.y, w: hint.w, h: hint.h });
    this.selected = this.boxes.length - 1;
    this.changed();
    return true;
  }

  /** Sets the label of new boxes, and of the selected box when there is one. */
  setLabel(label) {
    this.currentLabel = label;
    if (this.selected >= 0 && this.boxes[this.selected].label !== label) {
      this.snapshot();
      this.boxes[this.selected].label = label;
      this.boxes[this.selected].score = undefined;
      this.changed();
    } else {
      this.onChange?.(this);
    }
  }

  point(event) {
    const r = this.svg.getBoundingClientRect();
    return {
      x: Math.min(this.W, Math.max(0, ((event.clientX - r.left) / r.width) * this.W)),
      y: Math.min(this.H, Math.max(0, ((event.clientY - r.top) / r.height) * this.H)),
    };
  }

  pointerDown(event) {
    if (event.button !== 0) return;
    event.preventDefault();
    const p = this.point(event);
    const target = event.target;
    const index = target.dataset?.index != null ? Number(target.dataset.index) : -1;
    const hint = target.dataset?.hint != null ? Number(target.dataset.hint) : -1;
    this.svg.setPointerCapture(event.pointerId);
    if (event.shiftKey || hint >= 0) {
      // Shift: always draw, even on the selected box or a handle. On a hint, a drag draws
      // and a click accepts the hint.
      this.drag = { kind: "draw", start: p, current: p, clicked: index, hint };
    } else if (target.dataset?.handle) {
      this.drag = { kind: "resize", index, handle: target.dataset.handle, start: p, origin: { ...this.boxes[index] }, moved: false };
    } else if (index >= 0 && index === this.selected) {
      this.drag = { kind: "move", index, start: p, origin: { ...this.boxes[index] }, moved: false };
    } else {
      // Empty space or a box that is not selected: a drag draws, a click selects what is
      // under the pointer (nothing: deselect) once the button goes up.
      this.drag = { kind: "draw", start: p, current: p, clicked: index };
    }
    this.render();
  }

  pointerMove(event) {
    const drag = this.drag;
    if (!drag) return;
    const p = this.point(event);
    if (drag.kind === "draw") {
      drag.current = p;
      return this.render();
    }
    if (!drag.moved) {
      this.snapshot();
      drag.moved = true;
    }
    const box = this.boxes[drag.index];
    const dx = p.x - drag.start.x, dy = p.y - drag.start.y;
    const o = drag.origin;
    if (drag.kind === "move") {
      box.x = Math.min(this.W - o.w, Math.max(0, o.x + dx));
      box.y = Math.min(this.H - o.h, Math.max(0, o.y + dy));
    } else {
      let x1 = o.x, y1 = o.y, x2 = o.x + o.w, y2 = o.y + o.h;
      if (drag.handle.includes("w")) x1 = Math.min(this.W, Math.max(0, o.x + dx));
      if (drag.handle.includes("e")) x2 = Math.min(this.W, Math.max(0, o.x + o.w + dx));
      if (drag.handle.includes("n")) y1 = Math.min(this.H, Math.max(0, o.y + dy));
      if (drag.handle.includes("s")) y2 = Math.min(this.H, Math.max(0, o.y + o.h + dy));
      Object.assign(box, { x: Math.min(x1, x2), y: Math.min(y1, y2), w: Math.abs(x2 - x1), h: Math.abs(y2 - y1) });
    }
    box.score = undefined; // a person moved it: it is no longer the model's box
    this.dirty = true;
    this.render();
  }

  pointerUp(event) {
    const drag = this.drag;
    this.drag = null;
    if (!drag) return;
    this.svg.releasePointerCapture?.(event.pointerId);
    if (drag.kind === "draw") {
      const { start, current } = drag;
      const w = Math.abs(current.x - start.x), h = Math.abs(current.y - start.y);
      const minimum = MIN_BOX_PX / this.scale;
      if (w >= minimum && h >= minimum && this.currentLabel) {
        this.snapshot();
        this.boxes.push({ label: this.currentLabel, x: Math.min(start.x, current.x), y: Math.min(start.y, current.y), w, h });
        this.selected = this.boxes.length - 1;
        return this.changed();
      }
      if (drag.hint >= 0 && !event.shiftKey) return this.acceptHint(drag.hint); // a click on a hint
      return this.select(drag.clicked); // too small for a box: a click selects what is under it
    }
    if (drag.moved) {
      const box = this.boxes[drag.index];
      if (box.w < 1 || box.h < 1) { // resized to nothing: that is a deletion, undoable
        this.boxes.splice(drag.index, 1);
        this.selected = -1;
      }
      this.changed();
    }
  }

  render() {
    const unit = 1 / this.scale; // one screen pixel in image pixels
    const children = [];
    this.hints.forEach((b, index) => {
      const about = `Possible missed ${b.label}${b.score != null ? ` (score ${(b.score * 100).toFixed(0)}%)` : ""}`;
      const hint = svg("rect", {
        class: "hint", x: b.x, y: b.y, width: b.w, height: b.h, "data-hint": index, "data-label": b.label,
        tabindex: 0, role: "button", "aria-label": `${about}: add it as a box`,
      }, svg("title", {}, `${about}: click to add it as a ${b.label} box (Enter when focused); drag to draw your own`));
      hint.addEventListener("keydown", (event) => {
        if (event.key !== "Enter" && event.key !== " " && event.key.toLowerCase() !== "a") return;
        event.preventDefault();
        event.stopPropagation(); // Enter here adds the box; it does not save the image
        this.acceptHint(index);
      });
      children.push(hint);
    });
    this.boxes.forEach((b, index) => {
      const color = this.palette.color(b.label);
      const selected = index === this.selected;
      children.push(svg("rect", {
        class: `box${selected ? " selected" : ""}`, x: b.x, y: b.y, width: b.w, height: b.h,
        stroke: color, fill: color, "data-index": index, "data-label": b.label,
      }));
      const text = b.score != null ? `${b.label} ${(b.score * 100).toFixed(0)}%` : b.label;
      // A tag in the label's colour above the box (inside it when the box touches the top).
      const tagHeight = 16 * unit;
      const tagY = b.y >= tagHeight ? b.y - tagHeight : b.y;
      children.push(svg("rect", {
        class: "box-tag", x: b.x, y: tagY, width: (text.length * 7.4 + 10) * unit, height: tagHeight, fill: color,
      }));
      children.push(svg("text", {
        class: "box-label", x: b.x + 4 * unit, y: tagY + 12 * unit, "font-size": 12 * unit, fill: textOn(color),
      }, text));
    });
    const selectedBox = this.boxes[this.selected];
    if (selectedBox) {
      const size = HANDLE_PX * unit;
      for (const handle of HANDLES) {
        const cx = handle.includes("w") ? selectedBox.x : handle.includes("e") ? selectedBox.x + selectedBox.w : selectedBox.x + selectedBox.w / 2;
        const cy = handle.includes("n") ? selectedBox.y : handle.includes("s") ? selectedBox.y + selectedBox.h : selectedBox.y + selectedBox.h / 2;
        children.push(svg("rect", {
          class: `handle handle-${handle}`, x: cx - size / 2, y: cy - size / 2, width: size, height: size,
          "data-index": this.selected, "data-handle": handle,
        }));
      }
    }
    if (this.drag?.kind === "draw") {
      const { start, current } = this.drag;
      children.push(svg("rect", {
        class: "drawing", x: Math.min(start.x, current.x), y: Math.min(start.y, current.y),
        width: Math.abs(current.x - start.x), height: Math.abs(current.y - start.y),
        stroke: this.palette.color(this.currentLabel),
      }));
    }
    this.svg.replaceChildren(...children);
  }
}
