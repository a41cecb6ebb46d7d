/**
 * The pages in a real browser (Debian's chromium, driven by playwright-core). The dashboard, with the default config:
 * the page lists the generator's streams with their rates, shows the newest values, plots a clicked key live.
 * GraphiQL: it loads offline and runs a query. Every request stays on the daemon. Screenshots go to test-output/.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "npm:playwright-core@^1.50.0";
import { DaemonProcess } from "../testing/mod.ts";

const CHROMIUM = "/usr/bin/chromium";
const OUT = new URL("../test-output/", import.meta.url).pathname;

/** Starts a daemon with a generator (and `extra` TOML, `daemonExtra` keys of `[daemon]`) and a headless chromium. */
async function setup(extra = "", daemonExtra = "") {
  const dir = await Deno.makeTempDir();
  const config = join(dir, "t.toml");
  await Deno.writeTextFile(
    config,
    `[daemon]\nhttp = "127.0.0.1:0"\ndata_dir = "${dir}"\n${daemonExtra}\n[[inputs.generator]]\nname = "robot"\nrate = 200\nstreams = ["robot/base", "robot/arm"]\n${extra}`,
  );
  const daemon = await DaemonProcess.start(config);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return { dir, daemon, browser };
}

Deno.test("dashboard: streams with rates, newest values, a live plot, nothing fetched from elsewhere", async () => {
  const { dir, daemon, browser } = await setup();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(daemon.url + "/");
    // Browser-side code is passed as text: it runs in the page, not in Deno.
    await page.waitForFunction('document.getElementById("status")?.textContent === "live"');
    // The stream list shows both streams with a rate near 100/s each.
    await page.waitForFunction('document.querySelectorAll("#streams tr").length === 2');
    await page.waitForTimeout(1500);
    const rates = await page.evaluate(
      '[...document.querySelectorAll("#streams td.rate")].map((td) => Number(td.textContent))',
    ) as number[];
    assert.ok(rates.every((r) => r > 50 && r < 150), `rates ${rates}`);
    // Numbers are rounded for reading (the exact value in data-value and the tooltip); `time` reads as a date.
    const shown = await page.evaluate(
      '[...document.querySelectorAll("#tree .num")].map((e) => [e.dataset.path, e.textContent, e.dataset.value])',
    ) as [string, string, string][];
    const byPath = Object.fromEntries(shown.map(([p, text, value]) => [p, { text, value: Number(value) }]));
    assert.match(byPath.time.text, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/, `time shows ${byPath.time.text}`);
    assert.equal(
      Date.parse(byPath.time.text.replace(" ", "T").replace(" UTC", "Z")),
      Math.round(byPath.time.value * 1000),
    );
    assert.match(byPath.seq.text, /^\d+$/);
    for (const [p, { text, value }] of Object.entries(byPath)) {
      if (p === "time" || Number.isInteger(value)) continue;
      // From 1 up at most 3 decimals; below 1 at most 4 significant digits.
      const shownDigits = Math.abs(value) >= 1
        ? (text.split(".")[1] ?? "").length <= 3
        : text.replace(/^-?0\.0*/, "").length <= 4;
      assert.ok(shownDigits, `${p} shows ${text} for ${value}: not rounded`);
      assert.ok(
        Math.abs(Number(text) - value) <= (Math.abs(value) >= 1 ? 5e-4 : Math.abs(value) * 5e-4),
        `${p}: ${text} is not ${value}`,
      );
    }
    // The newest values, then a click on a number starts a plot that grows.
    await page.click('#tree .num[data-path="x"]');
    await page.waitForTimeout(1500);
    const points = await page.evaluate("state.plot.data[1].filter((v) => v !== null).length") as number;
    assert.ok(points > 50, `plotted ${points} points`);
    const inked = await page.evaluate(`(() => {
      const c = document.querySelector("#plot canvas");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      return n;
    })()`) as number;
    assert.ok(inked > 500, `the plot drew ${inked} pixels`);
    await Deno.mkdir(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, "dashboard.png") });
    const foreign = requests.filter((u) => !u.startsWith(daemon.url));
    assert.deepEqual(foreign, [], "every request stays on the daemon");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    assert.equal(await daemon.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphiql: loads offline and runs a query", async () => {
  const { dir, daemon, browser } = await setup("\n[[outputs.graphql]]\n");
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(daemon.url + "/graphql");
    await page.waitForSelector(".graphiql-container");
    await page.click(".graphiql-execute-button");
    await page.waitForFunction('document.querySelector(".result-window")?.textContent.includes("generator")');
    await Deno.mkdir(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, "graphiql.png") });
    assert.deepEqual(requests.filter((u) => !u.startsWith(daemon.url)), [], "every request stays on the daemon");
  } finally {
    await browser.close();
    assert.equal(await daemon.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("token: /?token= loads the dashboard and GraphiQL with their assets; pages of other origins get nothing", async () => {
  const { dir, daemon, browser } = await setup("\n[[outputs.graphql]]\n", 'token = "s3cret"\n');
  // A page of another origin on the same host (so the same "site": SameSite alone would let the cookie go).
  const evil = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () =>
    new Response(
      `<!doctype html><script>
      const target = ${JSON.stringify(daemon.url)};
      window.results = {};
      fetch(target + "/api/streams", { credentials: "include" }).then((r) => r.status, (e) => "blocked").then((v) => results.get = v);
      fetch(target + "/graphql", { method: "POST", credentials: "include", headers: { "content-type": "text/plain" },
        body: JSON.stringify({ query: "{ inputs { name } }" }) }).then((r) => r.status, () => "blocked").then((v) => results.post = v);
      const ws = new WebSocket(target.replace("http", "ws") + "/ws/dashboard?format=json");
      ws.onopen = () => results.ws = "open";
      ws.onerror = () => results.ws = "refused";
      const img = new Image();
      img.onload = img.onerror = () => results.img = "done";
      img.src = target + "/api/streams";
      </script>`,
      { headers: { "content-type": "text/html" } },
    ));
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    const failed: string[] = [];
    page.on("response", (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(daemon.url + "/?token=s3cret");
    await page.waitForFunction('document.getElementById("status")?.textContent === "live"');
    await page.waitForFunction('document.querySelectorAll("#streams tr").length === 2');
    const cookies = await context.cookies(daemon.url);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0].httpOnly, true);
    assert.equal(cookies[0].sameSite, "Strict");
    assert.equal(cookies[0].path, "/");
    assert.ok(!cookies[0].value.includes("s3cret"), "the cookie does not hold the token itself");
    assert.equal(await page.evaluate("document.cookie"), "", "scripts cannot read it");
    // The session carries the credential: the page loads again without ?token=, assets, feed and all.
    await page.goto(daemon.url + "/");
    await page.waitForFunction('document.getElementById("status")?.textContent === "live"');
    await page.goto(daemon.url + "/graphql?token=s3cret");
    await page.waitForSelector(".graphiql-container");
    await page.click(".graphiql-execute-button");
    await page.waitForFunction('document.querySelector(".result-window")?.textContent.includes("generator")');
    await Deno.mkdir(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, "graphiql_token.png") });
    assert.deepEqual(failed, [], "no request of the daemon's own pages was refused");
    assert.deepEqual(errors, []);

    // The other origin's page, in the same browser session (the cookie is there): every attempt is refused.
    const daemonResponses: number[] = [];
    const other = await context.newPage();
    other.on("response", (r) => {
      if (r.url().startsWith(daemon.url)) daemonResponses.push(r.status());
    });
    await other.goto(`http://127.0.0.1:${evil.addr.port}/`);
    await other.waitForFunction("results.get && results.post && results.ws && results.img");
    assert.deepEqual(await other.evaluate("results"), { get: "blocked", post: "blocked", ws: "refused", img: "done" });
    assert.ok(daemonResponses.every((s) => s === 401 || s === 403), `statuses ${daemonResponses}`);
    const metrics = await fetch(daemon.url + "/metrics", { headers: { authorization: "Bearer s3cret" } });
    const text = await metrics.text();
    const refusedOrigin = Number(/telebus_http_refused_origin_not_allowed_total (\d+)/.exec(text)?.[1] ?? 0);
    const refusedAuth = Number(/telebus_http_refused_unauthorized_total (\d+)/.exec(text)?.[1] ?? 0);
    // The fetches and the WebSocket carry Origin (403); the image carries the cookie but no Origin (401).
    assert.ok(refusedOrigin >= 3, text);
    assert.ok(refusedAuth >= 1, text);
  } finally {
    await browser.close();
    await evil.shutdown();
    assert.equal(await daemon.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});
