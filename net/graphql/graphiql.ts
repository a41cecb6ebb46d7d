/**
 * GraphiQL, served offline: React 17, ReactDOM 17 and GraphiQL 2's UMD builds, vendored in web/vendor/ (see its
 * README: importing them from the npm packages made `deno compile` embed the packages' whole trees), embedded as
 * text imports (no CDN). Queries and mutations go over HTTP;
 * subscriptions over a small `graphql-transport-ws` client in the page
 * (GraphiQL's own needs the graphql-ws package, which has no browser build).
 *
 * @module
 */
import reactJs from "../../web/vendor/react-17.0.2.production.min.js" with { type: "text" };
import reactDomJs from "../../web/vendor/react-dom-17.0.2.production.min.js" with { type: "text" };
import graphiqlJs from "../../web/vendor/graphiql-2.4.7.min.js" with { type: "text" };
import graphiqlCss from "../../web/vendor/graphiql-2.4.7.min.css" with { type: "text" };

/** Asset files below `<path>/assets/`. */
export const graphiqlAssets: Record<string, { body: string; type: string }> = {
  "react.js": { body: reactJs, type: "text/javascript; charset=utf-8" },
  "react-dom.js": { body: reactDomJs, type: "text/javascript; charset=utf-8" },
  "graphiql.js": { body: graphiqlJs, type: "text/javascript; charset=utf-8" },
  "graphiql.css": { body: graphiqlCss, type: "text/css; charset=utf-8" },
};

/** The GraphiQL page for an endpoint at `path`. */
export function graphiqlPage(path: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>telebus GraphQL</title>
<style>body { margin: 0; height: 100vh; } #graphiql { height: 100vh; }</style>
<link rel="stylesheet" href="${path}/assets/graphiql.css">
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="${path}/assets/react.js"></script>
<script src="${path}/assets/react-dom.js"></script>
<script src="${path}/assets/graphiql.js"></script>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const url = ${JSON.stringify(path)} + (token ? "?token=" + encodeURIComponent(token) : "");
const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + url;
// A minimal graphql-transport-ws client: enough for GraphiQL's subscriptions.
function subscribe(params) {
  const queue = [], waiting = [];
  let done = false;
  const push = (item) => waiting.length ? waiting.shift()(item) : queue.push(item);
  const ws = new WebSocket(wsUrl, "graphql-transport-ws");
  ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init" }));
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "connection_ack") ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: params }));
    else if (msg.type === "next") push({ value: msg.payload, done: false });
    else if (msg.type === "error") push({ value: { errors: msg.payload }, done: false });
    else if (msg.type === "complete") { done = true; push({ value: undefined, done: true }); }
  };
  ws.onclose = () => { done = true; push({ value: undefined, done: true }); };
  return {
    [Symbol.asyncIterator]() { return this; },
    next: () => queue.length ? Promise.resolve(queue.shift()) : done ? Promise.resolve({ done: true }) : new Promise((r) => waiting.push(r)),
    return: () => { ws.close(); done = true; return Promise.resolve({ done: true }); },
  };
}
async function fetcher(params) {
  if (/^\\s*subscription\\b/.test(params.query)) return subscribe(params);
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(params) });
  return res.json();
}
ReactDOM.render(
  React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: "{\\n  inputs { name type records errors }\\n  outputs { name type records dropped gauges }\\n  telebusStreams { stream count lastTime }\\n}\\n",
  }),
  document.getElementById("graphiql"),
);
</script>
</body>
</html>
`;
}
