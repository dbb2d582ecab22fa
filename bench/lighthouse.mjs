// `make lighthouse`: Lighthouse mobile (its default: simulated slow 4G and 4x CPU
// throttle) on every public page type, in Debian's Chromium, against the server that
// bench/lighthouse.sh started. Writes each report and a summary table to
// test-artifacts/lighthouse/ and prints the table. Exits 1 if any page scores under 90
// in any category, or makes a request to another origin; the targets (100, CLS <= 0.02,
// TBT <= 50 ms, LCP <= 1.5 s) are printed and compared, not enforced, because a shared
// machine moves them.
import fs from "node:fs";
import path from "node:path";
import { startFlow } from "lighthouse";
import puppeteer from "puppeteer-core";

const base = process.env.LIGHTHOUSE_BASE;
const managePath = process.env.LIGHTHOUSE_MANAGE_PATH;
const out = path.resolve(process.env.LIGHTHOUSE_OUT || "test-artifacts/lighthouse");
// LIGHTHOUSE_ONLY=regex measures only the page types whose names match (while working).
const only = new RegExp(process.env.LIGHTHOUSE_ONLY || ".", "i");
const FLOOR = 90;
const TARGETS = { score: 100, cls: 0.02, tbt: 50, lcp: 1500 };
const SEO_AUDITS = new Set();
const CATEGORIES = ["performance", "accessibility", "best-practices", "seo"];

// Plain GETs: [name, path]. The booking steps follow, driven through the real form.
const PAGES = [
  ["home", "/"],
  ["article list", "/articles/"],
  ["topic", "/topics/how-ketamine-works/"],
  ["glossary", "/glossary/"],
  ["search results", "/search/?q=BDNF"],
  ["search, no results", "/search/?q=zzzqqq"],
  ["booking", "/book/"],
  ["manage", managePath],
];
// Lighthouse refuses to score a page that answers with an error status, so the 404 page
// is left to the browser tests. Search results are noindex on purpose (a site's own
// search pages should not be indexed), so SEO's is-crawlable audit is expected to fail
// there and is left out of their SEO floor.
const NOINDEX = new Set(["search results", "search, no results"]);

async function articlePaths(page) {
  await page.goto(`${base}/articles/`);
  const hrefs = await page.$$eval("main a[href^='/articles/']", (links) =>
    links.map((a) => a.getAttribute("href")),
  );
  return [...new Set(hrefs)].filter((href) => /^\/articles\/[^/?]+\/$/.test(href));
}

async function clearCache(page) {
  const session = await page.createCDPSession();
  await session.send("Network.clearBrowserCache");
  await session.detach();
}

// Radios and checkboxes are checked as a click on them would (a mouse click at their
// position now and then missed one while the page was still settling).
async function check(page, selector) {
  await page.$eval(selector, (input) => input.click());
}

async function fillBooking(page) {
  // The state first, as a patient does (the step above the form): the times then offered
  // are only those bookable from there. Which time comes first on the plain page depends
  // on the sample slots, so it could be a video call with a clinician not licensed in NY.
  await page.goto(`${base}/book/?state=NY`);
  if (await page.$("input[name=slot]")) await check(page, "input[name=slot]");
  await page.type("#id_full_name", "Lighthouse Patient");
  await page.type("#id_email", "lighthouse@example.com");
  await page.type("#id_phone", "(212) 555-0123");
  await check(page, "input[name=preferred_contact][value=email]");
  await page.select("#id_state", "NY");
  await check(page, "#id_is_adult");
  await check(page, "input[name=has_therapist][value=no]");
  await check(page, "#id_contact_consent");
  await check(page, "#id_not_emergency_ack");
  // The form refuses answers faster than CLINIC_BOOKING_MIN_SECONDS (a bot trap).
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

async function submit(page) {
  await clearCache(page); // measured as a first visit, like the other pages
  // The booking form's own visible button (the state step above it is a form too).
  await page.click("form.booking-form input[type=submit][name=submit]");
}

function row(name, lhr, foreign) {
  const audit = (id) => lhr.audits[id]?.numericValue;
  const scores = Object.fromEntries(
    CATEGORIES.map((id) => [id, Math.round((lhr.categories[id]?.score ?? 0) * 100)]),
  );
  for (const ref of lhr.categories.seo?.auditRefs ?? []) SEO_AUDITS.add(ref.id);
  const requests = lhr.audits["network-requests"]?.details?.items ?? [];
  return {
    name,
    url: lhr.finalDisplayedUrl,
    ...scores,
    lcp: audit("largest-contentful-paint") ?? NaN,
    tbt: audit("total-blocking-time") ?? NaN,
    cls: audit("cumulative-layout-shift") ?? NaN,
    error: lhr.runtimeError?.code,
    bytes: requests.reduce((sum, r) => sum + (r.transferSize || 0), 0),
    requests: requests.length,
    foreign,
    failing: Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 0.9 && a.scoreDisplayMode !== "informative"
        && a.scoreDisplayMode !== "manual" && a.scoreDisplayMode !== "notApplicable")
      .map((a) => a.id),
  };
}

function table(rows) {
  const lines = [
    "| page | perf | a11y | best pr. | SEO | LCP | TBT | CLS | bytes | requests |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.performance} | ${r.accessibility} | ${r["best-practices"]} | ${r.seo} ` +
        `| ${(r.lcp / 1000).toFixed(2)} s | ${Math.round(r.tbt)} ms | ${r.cls.toFixed(3)} ` +
        `| ${(r.bytes / 1024).toFixed(1)} KB | ${r.requests} |`,
    );
  }
  return lines.join("\n");
}

function belowFloor(r) {
  const onlyCrawlable = (id) =>
    id === "seo" && NOINDEX.has(r.name) && r.failing.filter((a) => a !== "is-crawlable")
      .every((a) => !SEO_AUDITS.has(a));
  return CATEGORIES.filter((id) => r[id] < FLOOR && !onlyCrawlable(id));
}

function verdicts(rows) {
  const lines = [];
  for (const r of rows) {
    const misses = [];
    if (r.error) misses.push(`Lighthouse error ${r.error}`);
    for (const id of CATEGORIES) if (r[id] < TARGETS.score) misses.push(`${id} ${r[id]}`);
    if (r.cls > TARGETS.cls) misses.push(`CLS ${r.cls.toFixed(3)} > ${TARGETS.cls}`);
    if (r.tbt > TARGETS.tbt) misses.push(`TBT ${Math.round(r.tbt)} ms > ${TARGETS.tbt} ms`);
    if (r.lcp > TARGETS.lcp) misses.push(`LCP ${(r.lcp / 1000).toFixed(2)} s > 1.5 s`);
    const below = belowFloor(r);
    const status = below.length || r.foreign.length ? "FAIL" : misses.length ? "miss" : "ok  ";
    lines.push(`${status} ${r.name}${misses.length ? ": " + misses.join(", ") : ""}` +
      (r.foreign.length ? `; other origins: ${r.foreign.join(" ")}` : "") +
      (r.failing.length ? ` (audits under 90: ${r.failing.join(", ")})` : ""));
  }
  return lines.join("\n");
}

// Every run gets a browser of its own, as Lighthouse's command line launches one per run:
// one tab reused for every run let each run inherit the last one's renderer (its heap,
// its garbage collection, Lighthouse's own scripts), and TBT grew down the list, from
// 0 ms on the first pages to 100-400 ms on the last, whatever the page.
const origin = new URL(base).origin;
const foreign = new Set();
async function withPage(use) {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROME_PATH || "/usr/bin/chromium",
    args: [
      "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    const page = await browser.newPage();
    page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith("data:") && new URL(url).origin !== origin) foreign.add(url);
    });
    return await use(page);
  } finally {
    await browser.close();
  }
}

// Every sample article: they differ in diagrams, tables and length.
const articles = (await withPage(articlePaths)).map((href) => [`article ${href.split("/")[2]}`, href]);
PAGES.splice(3, 0, ...articles);

const rows = [];
fs.mkdirSync(out, { recursive: true });
// Each page is measured LIGHTHOUSE_RUNS times (default 3) and the median run reported, as
// Lighthouse's own guidance on variance advises: on a two-core machine a single run's TBT
// swings between 0 and 300 ms for the same page.
const RUNS = Number(process.env.LIGHTHOUSE_RUNS || 3);
function medianRun(lhrs) {
  const key = (lhr) => [
    -(lhr.categories.performance?.score ?? 0),
    lhr.audits["total-blocking-time"]?.numericValue ?? Infinity,
  ];
  const sorted = [...lhrs].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    return x[0] - y[0] || x[1] - y[1];
  });
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

async function measure(name, step, runs = RUNS) {
  if (!only.test(name)) return;
  const lhrs = [];
  const seen = new Set();
  for (let run = 0; run < runs; run++) {
    foreign.clear();
    const result = await withPage(async (page) => {
      const flow = await startFlow(page, { name, config: { extends: "lighthouse:default" } });
      await step(flow, page);
      return flow.createFlowResult();
    });
    lhrs.push(result.steps[0].lhr);
    for (const url of foreign) seen.add(url);
  }
  const lhr = medianRun(lhrs);
  const file = name.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
  fs.writeFileSync(path.join(out, `${file}.json`), JSON.stringify(lhr));
  rows.push(row(name, lhr, [...seen]));
  const tbts = lhrs.map((r) => r.runtimeError?.code
    ?? Math.round(r.audits["total-blocking-time"]?.numericValue ?? NaN));
  console.error(`lighthouse: ${name} done (TBT of ${runs} run(s): ${tbts.join(", ")} ms)`);
}

for (const [name, pagePath] of PAGES) {
  if (!pagePath) continue;
  await measure(name, (flow) => flow.navigate(`${base}${pagePath}`));
}
// The booking form sent with one answer missing, then sent complete (the confirmation).
// Storage is kept (the session holds the form's one-time token); the cache is cleared.
const keepSession = { flags: { disableStorageReset: true } };
await measure("booking, with errors", async (flow, page) => {
  await fillBooking(page);
  await page.$eval("#id_full_name", (input) => { input.value = ""; });
  await flow.navigate(() => submit(page), keepSession);
});
// Once: a booking sent changes what the booking page offers next.
await measure("confirmation", async (flow, page) => {
  await fillBooking(page);
  await flow.navigate(() => submit(page), keepSession);
  const heading = await page.$eval("h1", (h1) => h1.textContent);
  if (!heading.startsWith("Thank you")) {
    const said = await page.$$eval(".alert, .invalid-feedback", (notes) =>
      notes.map((note) => note.textContent.replace(/\s+/g, " ").trim()).join(" | "));
    throw new Error(`confirmation: the form said "${heading}": ${said}`);
  }
}, 1);
const summary = table(rows);
const judged = verdicts(rows);
fs.writeFileSync(path.join(out, "summary.md"), `${summary}\n\n${judged}\n`);
fs.writeFileSync(path.join(out, "summary.json"), JSON.stringify(rows, null, 1));
console.log(summary);
console.log("");
console.log(`Targets: every category ${TARGETS.score}, CLS <= ${TARGETS.cls}, TBT <= ` +
  `${TARGETS.tbt} ms, LCP <= 1.5 s (simulated throttling; a busy machine moves them)`);
console.log(judged);
const failed = rows.some((r) => r.error || belowFloor(r).length || r.foreign.length);
process.exit(failed ? 1 : 0);
