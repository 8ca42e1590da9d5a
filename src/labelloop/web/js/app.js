// Entry point: the route table. Pages load on demand, each in its own module.
import { closeAllModals } from "./components/modal.js";
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

// A dialog left open (say, after a failed delete) must not block the page navigated to.
window.addEventListener("hashchange", closeAllModals);
startRouter(routes, document.getElementById("outlet"), highlightNav);
