"""What tests/browser/test_every_page.py checks on a page, each check returning its problems in words.

- overflow: nothing may make the page scroll sideways; the elements that stick out are named.
- log-out: the "Log out" button is visible inside the viewport, after opening the navbar toggler
  and the user menu where the layout folds them away.
- axe: axe-core (npm, package-lock.json) finds no serious or critical violation. It is added to
  every document by the context's init script: the CSP (script-src 'self') refuses a script tag
  with axe's text (page.add_script_tag), but not an init script, so the pages keep their real CSP.
- weight: transferred bytes and requests of a cold load (new context, empty cache) and a warm one
  (a reload in the same context).
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Error

from tests.browser.pages import AXE, AXE_IMPACTS

# What sticks out, as short selectors: the outermost elements that stick out of a parent that fits
# (the culprit, not each of its ancestors), else (the body itself grew) the innermost that stick out.
OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const fits = (el) => el.getBoundingClientRect().right <= width + 0.5;
  // Inside a box that fits and scrolls or clips (pre, .table-responsive), nothing moves the page.
  const clipped = (el) => {
    for (let e = el.parentElement; e && e !== document.body; e = e.parentElement) {
      if (getComputedStyle(e).overflowX !== 'visible' && fits(e)) return true;
    }
    return false;
  };
  const sticks = (el) => el.getBoundingClientRect().width > 0 && !fits(el) && !clipped(el);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].slice(0, 3).map((c) => '.' + c).join('');
  const where = (el) => {
    const names = [];
    for (let e = el; e && e !== document.body && names.length < 4; e = e.parentElement) names.unshift(name(e));
    return names.join(' > ');
  };
  const path = (el) => where(el) + ' (right edge ' + Math.round(el.getBoundingClientRect().right + window.scrollX) + ' px)';
  const out = [...document.body.querySelectorAll('*')].filter(sticks);
  let culprits = out.filter((el) => el.parentElement !== document.body && !sticks(el.parentElement));
  if (!culprits.length) culprits = out.filter((el) => ![...el.children].some(sticks));
  let found = culprits.slice(0, 3).map(path);
  if (!found.length) {
    // No box sticks out: text does (a long word in a box that fits), in the innermost such box.
    const wide = (el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible';
    const texts = [...document.body.querySelectorAll('*')].filter((el) => wide(el) && ![...el.children].some(wide));
    found = texts.slice(0, 3).map((el) => where(el) + ': its text is ' + el.scrollWidth
      + ' px wide in ' + el.clientWidth + ' px');
  }
  return {scroll: document.documentElement.scrollWidth, inner: width, culprits: found};
}"""

AXE_JS = """async (impacts) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
}"""

IN_VIEWPORT_JS = """(el) => {
  const box = el.getBoundingClientRect();
  return box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
    && box.right <= window.innerWidth + 0.5 && box.bottom <= window.innerHeight + 0.5;
}"""


def add_axe(context) -> None:
    """axe-core in every document the context opens (before the page's own scripts; the CSP stays)."""
    context.add_init_script(path=str(AXE))


def overflow(page) -> list[str]:
    found = page.evaluate(OVERFLOW_JS)
    if found["scroll"] <= found["inner"]:
        return []
    where = "; ".join(found["culprits"]) or "no element found"
    return [f"overflow: scrollWidth {found['scroll']} px > innerWidth {found['inner']} px: {where}"]


def axe(page) -> list[str]:
    return [
        f"axe {v['id']} ({v['impact']}: {v['help']}): {', '.join(v['targets'][:5])}"
        + (f" and {len(v['targets']) - 5} more" if len(v["targets"]) > 5 else "")
        for v in page.evaluate(AXE_JS, list(AXE_IMPACTS))
    ]


def logout_visible(page) -> list[str]:
    """Find "Log out" as a person would: open the user menu; where that is folded away too, open the
    navbar toggler first, then the user menu."""
    found = page.get_by_role("button", name="Log out", exact=True, include_hidden=True)
    if found.count() == 0:
        return ["logout: no button named Log out"]
    button = found.first
    menu = page.locator(".dropdown, .btn-group, .dropstart, .dropend, .dropup").filter(has=button).last
    opener = menu.locator("[data-bs-toggle=dropdown]").first
    if not button.is_visible() and opener.is_visible():
        _open(opener, button, page)
    if not button.is_visible():
        toggler = page.locator(".navbar-toggler").first
        if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
            _open(toggler, button if opener.count() == 0 else opener, page)
        if not button.is_visible() and opener.is_visible():
            _open(opener, button, page)
    if not button.is_visible():
        return ["logout: Log out is hidden (after opening the user menu and the navbar toggler)"]
    button.scroll_into_view_if_needed()
    if not button.evaluate(IN_VIEWPORT_JS):
        return [f"logout: Log out is outside the viewport, at {button.bounding_box()}"]
    return []


def _open(control, shows, page) -> None:
    """Click a Bootstrap toggle and wait for what it shows, and for its animation to end (if it shows
    nothing, the check says so; no fixed sleep)."""
    control.click(timeout=5000)
    try:
        shows.wait_for(state="visible", timeout=2000)
    except Error:
        return
    page.wait_for_function("() => !document.querySelector('.collapsing, .showing, .hiding')", timeout=5000)


def weigh(page, url: str, *, reload: bool = False) -> dict[str, Any]:
    """Load url (or reload it) and add up what went over the wire until the load event: requests
    seen and bytes transferred (encoded body and headers; a cache hit transfers none)."""
    requests: list = []

    def seen(request) -> None:
        requests.append(request)

    page.on("request", seen)
    try:
        if reload:
            page.reload(wait_until="load")
        else:
            page.goto(url, wait_until="load")
    finally:
        page.remove_listener("request", seen)
    total, cached = 0, 0
    for request in requests:
        try:
            sizes = request.sizes()
        except Error:  # it failed or was cancelled: nothing arrived
            continue
        moved = max(sizes["responseBodySize"], 0) + max(sizes["responseHeadersSize"], 0)
        total += moved
        cached += moved == 0
    return {"bytes": total, "requests": len(requests), "from_cache": cached}
