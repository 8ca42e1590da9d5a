// Hash routes: "#/datasets/3/images?tab=to_confirm". Each page's render() may return a cleanup.

export function currentRoute() {
  const hash = location.hash.replace(/^#/, "") || "/datasets";
  const [path, queryString = ""] = hash.split("?");
  return { path, query: Object.fromEntries(new URLSearchParams(queryString)) };
}

export function href(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value != null && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

export function navigate(path, query, { replace = false } = {}) {
  const target = href(path, query);
  if (replace) history.replaceState(null, "", target);
  else location.hash = target;
  if (replace) window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** routes: [[/^\/datasets\/(\d+)$/, loader], ...]; loader(match) -> module with render(). */
export function startRouter(routes, outlet, onRoute) {
  let cleanup = null;
  let generation = 0;
  async function show() {
    const { path, query } = currentRoute();
    const mine = ++generation;
    if (typeof cleanup === "function") cleanup();
    cleanup = null;
    for (const [pattern, load] of routes) {
      const match = path.match(pattern);
      if (!match) continue;
      onRoute?.(path);
      const page = await load();
      if (mine !== generation) return; // a newer navigation won
      outlet.replaceChildren();
      const result = await page.render(outlet, match.slice(1), query);
      if (mine === generation) cleanup = result;
      else if (typeof result === "function") result();
      return;
    }
    location.hash = "#/datasets";
  }
  window.addEventListener("hashchange", show);
  show();
}
