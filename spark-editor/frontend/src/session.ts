// The session token of an embedded page (a Jupyter widget opens `/?token=...&embed=1`, spark_editor.jupyter): the
// server sets no cookie for such a page, so the page keeps the token from its address and sends it with every
// request (the Authorization header; `?token=` on the websocket). A normal page carries it in its cookie instead.

const params = new URLSearchParams(location.search);
export const embedToken: string | null = params.get("embed") === "1" ? params.get("token") : null;

export function authHeaders(): Record<string, string> {
  return embedToken ? { Authorization: `token ${embedToken}` } : {};
}

export function socketUrl(path: string): string {
  const base = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  return embedToken ? `${base}?token=${encodeURIComponent(embedToken)}` : base;
}

// the page's own parameters that must survive a rewrite of its address (so a reload keeps working)
export function keepEmbed(q: URLSearchParams): URLSearchParams {
  if (embedToken) {
    q.set("token", embedToken);
    q.set("embed", "1");
  }
  return q;
}
