"""What every public page type must pass in a real browser, and what it weighs.

`audit_page(page, name)` runs on the page as it stands (so a form in its error state can
be audited too): axe-core at WCAG 2.0/2.1/2.2 A and AA, then the checks axe cannot make
(one h1, no skipped heading level, labelled controls, errors tied to their fields,
visible focus, 24 px targets, reflow at 320 px, reduced motion). `measure_page(page, url,
name)` loads a page and adds up what production would transfer for it. Results are
collected into one table, printed at the end of the run and written to
test-artifacts/page-types.md.
"""

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import brotli

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
MIN_TARGET_PX = 24

# Formats whitenoise leaves uncompressed because they are compressed already.
PRECOMPRESSED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".woff", ".woff2", ".gz")


@dataclass
class PageTypeResult:
    transferred: int | None = None
    requests: int | None = None
    axe: str | None = None
    parts: list[tuple[str, int, int]] = field(default_factory=list)


RESULTS: dict[str, PageTypeResult] = {}


def _result(name: str) -> PageTypeResult:
    return RESULTS.setdefault(name, PageTypeResult())


# --- accessibility -------------------------------------------------------------------


def run_axe(page) -> list[dict]:
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `make install-dev` (npm ci)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol rather than add_script_tag: our CSP
        # (script-src 'self') rightly blocks an inline <script>, and bypassing CSP in the
        # tests would hide real CSP violations.
        page.evaluate(AXE.read_text())
    return page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' ')),"
        " summaries: v.nodes.map(n => n.failureSummary)})))",
        AXE_TAGS,
    )


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for target, summary in zip(v["targets"], v["summaries"], strict=False):
            lines.append(f"    at {target}: {(summary or '').splitlines()[-1:]}")
    return "\n".join(lines)


# Each check returns a list of problems (empty when the page is fine).
_STRUCTURE_JS = """
() => {
  const problems = [];
  const visible = el => {
    const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) problems.push(`expected one h1, found ${h1s.length}`);
  let last = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const level = Number(h.tagName[1]);
    if (last && level > last + 1)
      problems.push(`heading skips from h${last} to h${level}: "${h.textContent.trim()}"`);
    last = level;
  }
  const controls = document.querySelectorAll('select, textarea, input:not([type=hidden])'
    + ':not([type=submit]):not([type=button]):not([type=reset])');
  const hasText = id => id && document.getElementById(id)
    && document.getElementById(id).textContent.trim();
  for (const el of controls) {
    const labelled = [...(el.labels || [])].some(l => l.textContent.trim())
      || (el.getAttribute('aria-label') || '').trim()
      || (el.getAttribute('aria-labelledby') || '').split(/\\s+/).some(hasText);
    if (!labelled) problems.push(`control without a label: ${el.outerHTML.slice(0, 120)}`);
    if (el.getAttribute('aria-invalid') === 'true') {
      // A radio or checkbox group's error may describe its fieldset, read out on entering
      // the group (the group's legend and error, then each option's label).
      const group = el.closest('fieldset[aria-describedby]');
      const ids = [el, group].filter(Boolean)
        .flatMap(e => (e.getAttribute('aria-describedby') || '').split(/\\s+/)).filter(Boolean);
      const tied = ids.some(id => {
        const d = document.getElementById(id);
        return d && d.textContent.trim() && visible(d);
      });
      if (!tied) problems.push(`invalid field without a described error: ${el.name}`);
    }
  }
  for (const el of document.querySelectorAll('.is-invalid')) {
    if (el.getAttribute('aria-invalid') !== 'true')
      problems.push(`field shown invalid only by colour (no aria-invalid): ${el.name || el.id}`);
  }
  return problems;
}
"""

_TARGETS_JS = """
min => {
  const problems = [];
  const textBlocks = 'p, li, dd, td, th, address, blockquote, figcaption, label, legend';
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
  for (const el of document.querySelectorAll(sel)) {
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || s.visibility === 'hidden') continue;
    // WCAG 2.5.8 exempts links inline in a sentence.
    const inSentence = el.tagName === 'A' && s.display === 'inline'
      && el.parentElement.closest(textBlocks);
    if (inSentence) continue;
    if (el.matches('.skip-link:not(:focus)')) continue;
    if (r.width < min - 0.5 || r.height < min - 0.5)
      problems.push(`target ${Math.round(r.width)}x${Math.round(r.height)} px: ` +
                    el.outerHTML.slice(0, 100));
  }
  return problems;
}
"""

_MOTION_JS = """
() => {
  const problems = [];
  const longest = v => Math.max(...v.split(',').map(d => parseFloat(d) || 0));
  for (const el of document.querySelectorAll('*')) {
    for (const pseudo of [null, '::before', '::after']) {
      const s = getComputedStyle(el, pseudo);
      const animated = s.animationName !== 'none' && longest(s.animationDuration) > 0;
      if (longest(s.transitionDuration) > 0 || animated)
        problems.push('motion under prefers-reduced-motion: '
          + `${el.tagName.toLowerCase()}${pseudo || ''}.${el.className}`);
    }
  }
  if (document.getAnimations().length) problems.push('running animations under reduced motion');
  return problems;
}
"""


def check_focus_visible(page, stops: int = 4) -> list[str]:
    """Tab through the first few stops; each focused element must show an outline."""
    problems = []
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")  # start from the top of the document
    for _ in range(stops):
        info = page.evaluate(
            "() => { const el = document.activeElement;"
            " if (!el || el === document.body) return null;"
            " const s = getComputedStyle(el);"
            " return {tag: el.tagName, text: (el.textContent || el.name || '').trim().slice(0, 40),"
            " style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"
        )
        if info is None:
            problems.append("Tab moved focus nowhere")
            break
        if info["style"] == "none" or info["width"] < 2:
            problems.append(f"no visible focus outline on {info['tag']} {info['text']!r}")
        page.keyboard.press("Tab")
    return problems


def check_reflow(page, width: int = 320) -> list[str]:
    original = page.viewport_size
    page.set_viewport_size({"width": width, "height": 800})
    try:
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        return [] if scroll <= inner else [f"horizontal scroll at {width}px: {scroll} > {inner}"]
    finally:
        page.set_viewport_size(original)


def check_reduced_motion(page) -> list[str]:
    page.emulate_media(reduced_motion="reduce")
    try:
        return page.evaluate(_MOTION_JS)
    finally:
        page.emulate_media(reduced_motion="no-preference")


def audit_page(page, name: str) -> None:
    """Fail with every problem found on the page as it stands; record the axe result."""
    violations = run_axe(page)
    _result(name).axe = f"{len(violations)} violations" if violations else "0 violations"
    problems = []
    if violations:
        problems.append("axe-core violations:\n" + format_violations(violations))
    problems += page.evaluate(_STRUCTURE_JS)
    problems += page.evaluate(_TARGETS_JS, MIN_TARGET_PX)
    problems += check_reflow(page)
    problems += check_reduced_motion(page)
    problems += check_focus_visible(page)
    assert not problems, f"{name} ({page.url}):\n" + "\n".join(problems)


# --- screenshots ---------------------------------------------------------------------


def screenshot(page, name: str, widths: tuple[int, ...] = (390, 1280)) -> list[Path]:
    """Full-page screenshots at phone and desktop widths, for reviewers to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    original = page.viewport_size
    paths = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": 844 if width < 600 else 800})
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    page.set_viewport_size(original)
    return paths


# --- page weight ---------------------------------------------------------------------


def compressed_size(url: str, content_type: str, body: bytes) -> int:
    """Bytes production sends for this body.

    Static files: whitenoise's pre-built brotli file (default quality 11), kept only
    when it saves more than 5 % as whitenoise does. HTML and other dynamic responses:
    gzip level 6, what Django's GZipMiddleware or a typical reverse proxy sends; the
    more conservative of the two assumptions for dynamic pages.
    """
    path = urlsplit(url).path
    if path.startswith("/static/"):
        if path.endswith(PRECOMPRESSED):
            return len(body)
        packed = len(brotli.compress(body))
        return packed if packed < len(body) * 0.95 else len(body)
    if content_type.startswith(("text/", "application/json", "application/xml", "image/svg")):
        return min(len(body), len(gzip.compress(body, compresslevel=6)))
    return len(body)


def measure_page(page, url: str, name: str, status: int = 200) -> int:
    """Load `url` fresh (empty cache) and return the bytes production would transfer.

    Counts every response's compressed body plus its headers as HTTP/1.1 text. Fails
    unless the page itself answers with `status` (a styled 500 page would otherwise
    pass every other check).
    """
    responses = []
    # A first visit: nothing from the browser's cache, so every byte is counted.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})

    def record(response):
        responses.append(response)

    page.on("response", record)
    try:
        response = page.goto(url, wait_until="networkidle")
        assert response.status == status, f"{name}: {url} answered {response.status}"
    finally:
        page.remove_listener("response", record)
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
        cdp.detach()
    total = 0
    parts = []
    for response in responses:
        if urlsplit(response.url).scheme == "data":
            continue
        try:
            body = response.body()
        except Exception:  # noqa: BLE001 - redirects have no body
            body = b""
        headers = sum(len(h["name"]) + len(h["value"]) + 4 for h in response.headers_array())
        size = compressed_size(response.url, response.headers.get("content-type", ""), body)
        parts.append((urlsplit(response.url).path, len(body), size + headers))
        total += size + headers
    result = _result(name)
    result.transferred, result.requests, result.parts = total, len(parts), parts
    return total


# --- the table -----------------------------------------------------------------------


def page_type_table() -> str:
    if not RESULTS:
        return ""
    rows = ["| Page type | Transferred (compressed) | Requests | axe (WCAG 2.x A/AA) |"]
    rows.append("| --- | ---: | ---: | --- |")
    for name, r in sorted(RESULTS.items()):
        size = f"{r.transferred:,} B ({r.transferred / 1024:.1f} KB)" if r.transferred else "–"
        rows.append(f"| {name} | {size} | {r.requests or '–'} | {r.axe or 'not scanned'} |")
    return "\n".join(rows)


def write_page_type_table() -> None:
    if not RESULTS:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-types.md").write_text(page_type_table() + "\n")
    detail = {name: r.parts for name, r in RESULTS.items() if r.parts}
    (ARTIFACTS / "page-weight-detail.json").write_text(json.dumps(detail, indent=1))
