"""The web page in Chromium (Playwright, Debian's chromium), opened from file:// as a reader would.

The view switch, notes in a popover, back links, tooltips by mouse and keyboard, no request
leaving the folder, no console error or CSP violation, axe-core in both views and both colour
schemes, no horizontal scrolling at 320 px; and screenshots in output/screenshots/ to look at.

One browser for the module; a fresh context (storage, viewport, colour scheme) for each page.
A missing Chromium or Playwright skips these tests locally and fails them when CI=true; so
does a missing axe-core (EDITION_AXE_JS, or the npm package axe-core in .tools/node).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import edition
import external  # tests/external.py: finds Chromium and Playwright (skips locally, fails in CI)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Request

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "sources" / "panahli-january-20.xml"
SCREENSHOTS = REPO / "output" / "screenshots"
AXE_HOW_TO_INSTALL = "npm install --prefix .tools/node --no-audit --no-fund --ignore-scripts axe-core"

DESKTOP: Any = {"width": 1280, "height": 900}  # Playwright's ViewportSize
PHONE: Any = {"width": 375, "height": 812}

#: Collects what the page reports; set up before the page loads (CDP, so the page's CSP does not apply).
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def axe_script() -> Path | None:
    """axe-core's axe.min.js: EDITION_AXE_JS, else the npm package in .tools/node."""
    value = os.environ.get("EDITION_AXE_JS", "").strip()
    if value:
        return Path(value) if Path(value).is_file() else None
    path = external.NODE_MODULES / "axe-core" / "axe.min.js"
    return path if path.is_file() else None


def require_axe() -> Path:
    """axe.min.js, or skip (locally) / fail (CI=true) saying how to install it, as external.require does."""
    script = axe_script()
    if script is None:
        message = f"axe-core not installed: {AXE_HOW_TO_INSTALL}, or set EDITION_AXE_JS to its axe.min.js"
        if external.in_ci():
            pytest.fail(f"{message} (CI=true, so a missing tool fails instead of skipping)", pytrace=False)
        pytest.skip(message)
    return script


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    sync_api = external.optional_module("playwright.sync_api")
    external.require("playwright", sync_api)
    external.require("chromium", external.chromium())
    assert sync_api is not None
    with sync_api.sync_playwright() as playwright:
        launched = external.launch_chromium(playwright)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Panahli interview's web page, built once: the path of its index.html."""
    folder = tmp_path_factory.mktemp("site")
    edition.build(SOURCE, folder, formats=["html"])
    return folder / "index.html"


@dataclass
class Visit:
    """A page opened in its own context, with what it requested and reported."""

    page: Page
    folder: Path
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def check(self) -> None:
        """No request left the page's folder; no console error, page error or CSP violation."""
        outside = [url for url in self.requests if not self.inside(url)]
        assert not outside, f"requests outside {self.folder}: {outside}"
        violations = self.page.evaluate("window.__cspViolations || []")
        assert not violations, f"CSP violations: {violations}"
        assert not self.errors, f"console errors: {self.errors}"

    def inside(self, url: str) -> bool:
        if not url.startswith("file://"):
            return False
        from urllib.parse import unquote, urlsplit

        path = Path(unquote(urlsplit(url).path)).resolve()
        return path.is_relative_to(self.folder)


@pytest.fixture
def open_page(browser: Browser, site: Path) -> Iterator[Callable[..., Visit]]:
    """``open_page(viewport=..., color_scheme=..., fragment=...)`` → a Visit, checked at the end."""
    visits: list[Visit] = []
    contexts = []

    def opener(
        viewport: dict[str, int] | None = None, color_scheme: str = "light", fragment: str = ""
    ) -> Visit:
        context = browser.new_context(
            viewport=viewport or DESKTOP,
            color_scheme=color_scheme,  # type: ignore[arg-type]
        )
        contexts.append(context)
        page = context.new_page()
        visit = Visit(page, site.parent.resolve())

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                visit.errors.append(message.text)

        def on_request(request: Request) -> None:
            visit.requests.append(request.url)

        page.on("console", on_console)
        page.on("pageerror", lambda error: visit.errors.append(f"page error: {error}"))
        page.on("request", on_request)
        page.add_init_script(CSP_LISTENER)
        page.goto(site.as_uri() + fragment)
        page.evaluate("document.fonts.ready.then(() => true)")
        visits.append(visit)
        return visit

    yield opener
    try:
        for visit in visits:
            visit.check()
    finally:
        for context in contexts:
            context.close()


def in_viewport(page: Page, selector: str) -> bool:
    return bool(
        page.evaluate(
            """(selector) => {
            const box = document.querySelector(selector).getBoundingClientRect();
            return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
        }""",
            selector,
        )
    )


def active_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))


# --------------------------------------------------------------------------- loading under the CSP


def test_styles_script_and_fonts_load_from_file_under_the_csp(open_page: Callable[..., Visit]) -> None:
    visit = open_page()
    page = visit.page
    loaded = page.evaluate("Array.from(document.fonts).map(f => f.family + ' ' + f.style + ' ' + f.status)")
    assert sorted(f.replace('"', "") for f in loaded) == [
        "EB Garamond italic loaded",
        "EB Garamond normal loaded",
    ]
    assert page.evaluate("document.fonts.check('1em \"EB Garamond\"')")
    assert page.evaluate("getComputedStyle(document.querySelector('.tip')).display") == "none"  # screen.css
    before = "getComputedStyle(document.querySelector('.iv.supplied'), '::before').content"
    assert page.evaluate(before) == '"⟨"'
    assert page.locator(".view-switch").is_visible()  # edition.js ran and showed it
    assert page.locator(".cite-button").count() == page.locator("a.pnum").count()
    names = sorted(url.rsplit("/", 1)[-1] for url in visit.requests)
    assert names == [
        "EBGaramond-Italic.ttf",
        "EBGaramond.ttf",
        "base.css",
        "edition.js",
        "index.html",
        "screen.css",
    ]


# --------------------------------------------------------------------------- the view switch


def test_the_view_switch_changes_the_text_and_survives_a_reload(open_page: Callable[..., Visit]) -> None:
    page = open_page().page
    paragraph = page.locator("#p08")
    assert page.get_attribute("html", "data-view") == "reading"
    assert "Azerbaijan would have become" in paragraph.inner_text()
    assert "Azeerbaiajn" not in paragraph.inner_text()

    page.get_by_role("radio", name="Diplomatic").check()
    assert page.get_attribute("html", "data-view") == "diplomatic"
    assert "Azeerbaiajn would have become" in paragraph.inner_text()
    assert "Azerbaijan would" not in paragraph.inner_text()
    assert page.locator("#i-closing-mark").is_hidden()  # supplied text is not in the source

    page.reload()
    assert page.get_attribute("html", "data-view") == "diplomatic"
    assert page.get_by_role("radio", name="Diplomatic").is_checked()
    assert "Azeerbaiajn" in page.locator("#p08").inner_text()

    page.get_by_role("radio", name="Diplomatic").focus()  # the radios work from the keyboard too
    page.keyboard.press("ArrowUp")
    assert page.get_attribute("html", "data-view") == "reading"
    page.reload()
    assert "Azerbaijan would have become" in page.locator("#p08").inner_text()


# --------------------------------------------------------------------------- notes


def note_text(page: Page, note_id: str) -> str:
    """The words of a note in the list, without its back link."""
    text = str(
        page.evaluate(
            """(id) => {
            const item = document.getElementById(id).cloneNode(true);
            item.querySelector('.backlink').remove();
            return item.textContent;
        }""",
            note_id,
        )
    )
    return " ".join(text.split())


def test_a_note_opens_in_place_on_click_and_escape_returns_focus(open_page: Callable[..., Visit]) -> None:
    page = open_page().page
    ref = page.locator("#noteref-n-karabakh")
    popover = page.locator("#note-popover")
    assert popover.is_hidden()
    ref.click()
    assert popover.is_visible()
    assert ref.get_attribute("aria-expanded") == "true"
    shown = " ".join(popover.inner_text().split())
    assert note_text(page, "note-n-karabakh") in shown
    assert shown.startswith("NOTE 10") or shown.startswith("Note 10")
    assert page.url.endswith("index.html"), "the click opens the note in place, it does not jump"
    assert popover.get_by_role("link", name="Show in the list of notes").is_visible()
    assert popover.get_by_role("button", name="Close").is_visible()

    page.keyboard.press("Escape")
    assert popover.is_hidden()
    assert active_id(page) == "noteref-n-karabakh"
    assert ref.get_attribute("aria-expanded") == "false"


def test_a_note_opens_from_the_keyboard_and_closes_with_its_button(open_page: Callable[..., Visit]) -> None:
    page = open_page().page
    popover = page.locator("#note-popover")
    page.locator("#noteref-n-manat").focus()
    page.keyboard.press("Enter")
    assert popover.is_visible()
    assert "The Azerbaijani manat, introduced in 1992." in popover.inner_text()
    assert page.evaluate("document.getElementById('note-popover').contains(document.activeElement)")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Close"
    page.keyboard.press("Enter")
    assert popover.is_hidden()
    assert active_id(page) == "noteref-n-manat"

    page.keyboard.press("Enter")  # again; Tab past the end leaves the note, back at its reference
    assert popover.is_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert popover.is_hidden()
    assert active_id(page) == "noteref-n-manat"


def test_show_in_the_list_goes_to_the_note_and_its_back_link_returns(open_page: Callable[..., Visit]) -> None:
    page = open_page().page
    page.locator("#noteref-n-perestroika").click()
    page.locator("#note-popover").get_by_role("link", name="Show in the list of notes").click()
    assert page.url.endswith("#note-n-perestroika")
    assert page.locator("#note-popover").is_hidden()
    assert in_viewport(page, "#note-n-perestroika")

    backlink = page.locator("#note-n-perestroika a.backlink")
    assert backlink.get_attribute("role") == "doc-backlink"
    backlink.click()
    assert page.url.endswith("#noteref-n-perestroika")
    assert in_viewport(page, "#noteref-n-perestroika")


def test_without_script_a_note_reference_is_a_link_to_the_note(browser: Browser, site: Path) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(site.as_uri())
        assert page.get_attribute("html", "data-view") == "reading"
        assert page.locator(".view-switch").is_hidden()
        assert "Azeerbaiajn" not in page.locator("#p08").inner_text()
        page.locator("#noteref-n-karabakh").click()
        assert page.url.endswith("#note-n-karabakh")
        assert in_viewport(page, "#note-n-karabakh")
    finally:
        context.close()


# --------------------------------------------------------------------------- tooltips


def test_a_tip_shows_on_hover_stays_when_hovered_and_escape_dismisses_it(
    open_page: Callable[..., Visit],
) -> None:
    page = open_page().page
    tip = page.locator("#tip-i-peoples")
    assert tip.is_hidden()
    page.locator("#i-peoples .reading").hover()
    assert tip.is_visible()
    assert tip.inner_text() == (
        "The source reads “peoples”. A possessive without its apostrophe in the found text."
    )
    assert page.locator("#i-peoples").get_attribute("aria-describedby") == "tip-i-peoples"
    assert tip.get_attribute("role") == "tooltip"

    box = tip.bounding_box()  # WCAG 1.4.13, hoverable: the pointer can move onto the tip
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    assert tip.is_visible()
    page.keyboard.press("Escape")  # dismissible without moving the pointer
    assert tip.is_hidden()
    page.mouse.move(5, 5)
    page.locator("#i-peoples .reading").hover()
    assert tip.is_visible(), "the tip comes back once the pointer has left and returned"


def test_a_tip_shows_on_keyboard_focus_also_inside_a_link(open_page: Callable[..., Visit]) -> None:
    page = open_page().page
    tip = page.locator("#tip-i-closing-mark")
    page.locator("#i-closing-mark").focus()
    assert tip.is_visible()
    page.keyboard.press("Escape")
    assert tip.is_hidden()
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    assert active_id(page) == "i-closing-mark"
    assert tip.is_visible()

    page.locator("#m31").focus()  # the correction "Azerbaijan" inside a link to the register
    assert page.locator("#tip-i-azerbaijan").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#tip-i-azerbaijan").is_hidden()

    page.locator("#m5").focus()  # a link inside damaged text: the damage's tip shows
    assert page.locator("#tip-i-link-lost").is_visible()


def test_every_intervention_is_marked_and_reachable(open_page: Callable[..., Visit]) -> None:
    page = open_page().page
    report = page.evaluate(
        """() => Array.from(document.querySelectorAll('.iv')).map(iv => {
            const style = getComputedStyle(iv);
            const before = getComputedStyle(iv, '::before').content;
            const marker = iv.querySelector('.marker');
            const marked = style.textDecorationLine !== 'none' || before !== 'none' || !!marker;
            const reachable = iv.tabIndex === 0 || !!iv.closest('a') || !!iv.querySelector('a');
            return [iv.id, marked, reachable];
        })"""
    )
    assert report
    assert [r for r in report if not (r[1] and r[2])] == []


def test_hostile_source_text_runs_nothing(browser: Browser, tmp_path: Path) -> None:
    """tests/web/hostile.xml: script-like text and unsafe links stay text; no dialog opens."""
    with pytest.warns(edition.EditionWarning, match=r"link target .* refused"):
        edition.build(REPO / "tests" / "web" / "hostile.xml", tmp_path, formats=["html"])
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        dialogs: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto((tmp_path / "index.html").as_uri())
        for link in page.locator("#hostile-links a, #hostile-text a, #hostile-text .iv").all():
            link.focus()
            link.hover()
        page.get_by_role("radio", name="Diplomatic").check()
        assert dialogs == []
        assert page.evaluate("document.scripts.length") == 1
        assert '<script>alert("text")</script>' in page.locator("#hostile-text").inner_text()
    finally:
        context.close()


# --------------------------------------------------------------------------- the whole page


def run_axe(page: Page, source: str) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now (the script is evaluated, so CSP allows it)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(source)
    # preload: false: axe would fetch the stylesheets to read them (a file:// page cannot), which
    # the page's CSP rightly refuses (connect-src); the one rule that needs them
    # (css-orientation-lock) has nothing to check here.
    result = page.evaluate("axe.run(document, {resultTypes: ['violations'], preload: false})")
    violations: list[dict[str, Any]] = result["violations"]
    return violations


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_in_either_view(open_page: Callable[..., Visit], scheme: str) -> None:
    source = require_axe().read_text(encoding="utf-8")
    page = open_page(color_scheme=scheme).page
    found: dict[str, list[str]] = {}
    for view in ("reading", "diplomatic"):
        page.get_by_role("radio", name=view.capitalize()).check()
        for state in ("page", "note open"):
            if state == "note open":
                page.locator("#noteref-n-karabakh").click()
                page.locator("#i-peoples").hover()
            for violation in run_axe(page, source):
                if violation["impact"] in {"serious", "critical"}:
                    targets = [str(node["target"]) for node in violation["nodes"][:5]]
                    found.setdefault(f"{view}, {state}", []).append(f"{violation['id']}: {targets}")
            page.keyboard.press("Escape")
    assert not found, found


def test_a_phone_of_320_px_needs_no_horizontal_scrolling(open_page: Callable[..., Visit]) -> None:
    page = open_page(viewport={"width": 320, "height": 640}).page
    for view in ("reading", "diplomatic"):
        page.get_by_role("radio", name=view.capitalize()).check()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, view
    page.locator("#noteref-n-primakov").click()
    assert page.locator("#note-popover").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    box = page.locator("#note-popover").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320


def test_paragraph_numbers_sit_in_the_margin_on_wide_screens_and_inline_on_phones(
    open_page: Callable[..., Visit],
) -> None:
    wide = open_page().page
    number, text = wide.locator("#p03 a.pnum").bounding_box(), wide.locator("#p03").bounding_box()
    assert number and text and number["x"] + number["width"] <= text["x"]
    measure = wide.evaluate(
        "document.querySelector('#p03').getBoundingClientRect().width / "
        "parseFloat(getComputedStyle(document.querySelector('#p03')).fontSize)"
    )
    assert 26 <= measure <= 36, f"the measure is {measure:.1f} em (about 65 characters wanted)"
    phone = open_page(viewport=PHONE).page
    number, text = phone.locator("#p03 a.pnum").bounding_box(), phone.locator("#p03").bounding_box()
    assert number and text and number["x"] >= text["x"]


def test_cite_copies_a_citation_with_the_paragraph_address(browser: Browser, site: Path) -> None:
    from playwright.sync_api import expect  # installed: the browser fixture needs it

    context = browser.new_context(viewport=DESKTOP)
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(site.as_uri())
        page.locator("#p05").hover()
        page.locator("#p05 .cite-button").click()
        # expect() polls from Playwright's own world: a wait_for_function string is an eval, which
        # the page's Content-Security-Policy refuses whenever the first check is not already true
        expect(page.locator("#p05 .cite-button")).to_have_text("Copied", timeout=30_000)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("Salim Haqverdiyev. Memories of January 20")
        assert copied.endswith(", ¶ 5. " + site.as_uri() + "#p05")
        status = page.locator("[role=status]")  # what screen readers are told
        expect(status).to_have_text("Citation of paragraph 5 copied.", timeout=30_000)
    finally:
        context.close()


def test_screenshots_of_both_views_on_desktop_and_phone(open_page: Callable[..., Visit]) -> None:
    """Saved for people to look at: output/screenshots/{desktop,phone}-{reading,diplomatic}[-dark].png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        for scheme in ("light", "dark"):
            page = open_page(viewport=viewport, color_scheme=scheme).page
            for view in ("reading", "diplomatic"):
                page.get_by_role("radio", name=view.capitalize()).check()
                page.mouse.move(0, 0)
                suffix = "" if scheme == "light" else "-dark"
                path = SCREENSHOTS / f"{name}-{view}{suffix}.png"
                page.screenshot(path=str(path), full_page=True)
                assert path.stat().st_size > 10_000
