// Entry point: the route table. Pages load on demand, each in its own module.
import { startRouter } from "./router.js";

const routes = [
  [/^\/datasets$/, () => import("./pages/datasets.js")],
  [/^\/datasets\/([^/]+)$/, () => import("./pages/overview.js")],
  [/^\/datasets\/([^/]+)\/images$/, () => import("./pages/details.js")],
  [/^\/datasets\/([^/]+)\/label\/(\d+)$/, () => import("./pages/editor.js")],
  [/^\/datasets\/([^/]+)\/next$/, () => import("./pages/next.js")],
  [/^\/models$/, () => import("./pages/models.js")],
  [/^\/jobs$/, () => import("./pages/jobs.js")],
];

function highlightNav(path) {
  const section = path.startsWith("/models") ? "models" : path.startsWith("/jobs") ? "jobs" : "datasets";
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === section);
  }
}

startRouter(routes, document.getElementById("outlet"), highlightNav);
