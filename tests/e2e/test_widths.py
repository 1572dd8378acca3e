"""Every role's pages at a desktop (1440×900) and a phone (390×844) width (issue 18, item 1).

Each role signs in and opens the pages of its day, with cases in every stage so that the
lists, the case pages and the act pages have rows and buttons. At both widths the page
body never scrolls sideways, the top bar's links never wrap inside a word, and on a phone
the case lists become cards (each cell labelled with its column). With SCREENSHOT_DIR set,
every page is kept as `widths-<role>-<page>-<width>.png`.
"""

import os

import pytest

from cases.models import State
from tests.factories import build_world, drive_to

from .conftest import sign_in

pytestmark = pytest.mark.e2e
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}


def pages_of_the_day(cases):
    """Each role's pages, as (name, path) in the order of a working day."""
    accepted, handling, submitted, replied = (cases[s].number for s in (
        State.ACCEPTED, State.IN_HANDLING, State.RESULT_SUBMITTED, State.REPLIED))
    return {
        None: [("home", "/"), ("submit", "/public/submit/"), ("track", "/public/track/"),
               ("login", "/accounts/login/")],
        "clerk": [("desk", "/"), ("register", "/intake/register/"), ("queue", "/intake/queue/"),
                  ("feedback", "/feedback/"), ("visit", f"/feedback/cases/{replied}/visit/"),
                  ("case", f"/cases/{replied}/"), ("notifications", "/cases/notifications/")],
        "dispatcher": [("desk", "/dispatch/desk/"), ("dispatch", f"/dispatch/cases/{accepted}/"),
                       ("reviews", "/dispatch/reviews/"), ("case", f"/cases/{submitted}/")],
        "handler": [("desk", "/"), ("inbox", "/dispatch/inbox/"),
                    ("handle", f"/dispatch/cases/{handling}/handle/")],
        "head": [("inbox", "/dispatch/inbox/"), ("reviews", "/dispatch/reviews/"),
                 ("review", f"/dispatch/cases/{submitted}/handle/")],
        "supervisor": [("desk", "/"), ("dashboard", "/oversight/"),
                       ("drilldown", "/oversight/cases/"),
                       ("supervision", "/dispatch/supervision/"), ("orders", "/oversight/supervision/"),
                       ("archive", "/feedback/archive/")],
    }


# Measured in the page: how far the body scrolls sideways, the top bar's links taller than
# two lines of their text (a word broken one character a line), and on a phone each case
# table's rows shown as blocks with every cell labelled (a table of figures keeps its grid
# and scrolls inside its box).
MEASURE = """() => {
  const nav = [...document.querySelectorAll('.topbar .mainnav a, .topbar .account > *')];
  const broken = nav.filter(a => {
    const line = parseFloat(getComputedStyle(a).lineHeight) || 24;
    return a.getBoundingClientRect().height > 2.2 * line;
  }).map(a => a.textContent.trim());
  const tables = [...document.querySelectorAll('table.cases:not(.figures-table)')]
    .filter(t => t.offsetParent);
  // A cell under a named column must carry that name (a column of buttons has none).
  const unlabelled = tables.filter(t => t.tHead).flatMap(t => {
    const names = [...t.tHead.rows[0].cells].flatMap(c => Array(c.colSpan).fill(c.textContent.trim()));
    return [...t.tBodies].flatMap(b => [...b.rows]).flatMap(row => {
      let column = 0;
      return [...row.cells].filter(cell => {
        const name = names[column];
        column += cell.colSpan;
        return name && cell.colSpan === 1 && cell.textContent.trim() && !cell.dataset.label;
      });
    });
  }).length;
  const rowsAsCards = tables.every(t => [...t.querySelectorAll('tbody tr')]
    .every(tr => getComputedStyle(tr).display === 'block'));
  return {overflow: document.documentElement.scrollWidth - window.innerWidth, broken,
          tables: tables.length, unlabelled, rowsAsCards};
}"""


def test_every_role_s_pages_fit_a_desktop_and_a_phone(page, live_server):
    world = build_world()
    cases = {state: drive_to(world, state) for state in (
        State.RECEIVED, State.ACCEPTED, State.IN_HANDLING, State.RESULT_SUBMITTED,
        State.REPLIED, State.ARCHIVED)}
    base = live_server.url
    problems = []
    for username, pages in pages_of_the_day(cases).items():
        if username:
            sign_in(page, base, username)
        else:
            page.context.clear_cookies()
        for name, path in pages:
            for label, (width, height) in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": height})
                response = page.goto(base + path)
                assert response.status == 200, (username, path, response.status)
                page.wait_for_load_state("load")
                found = page.evaluate(MEASURE)
                where = f"{username or 'public'} {name} {label}"
                if found["overflow"] > 1:
                    problems.append(f"{where}: the page scrolls {found['overflow']} px sideways")
                if found["broken"]:
                    problems.append(f"{where}: top bar links wrap inside a word: {found['broken']}")
                if label == "phone" and found["tables"]:
                    if not found["rowsAsCards"]:
                        problems.append(f"{where}: a case table's rows are not cards")
                    if found["unlabelled"]:
                        problems.append(f"{where}: {found['unlabelled']} cells without a label")
                if SCREENSHOTS:
                    os.makedirs(SCREENSHOTS, exist_ok=True)
                    page.screenshot(path=os.path.join(
                        SCREENSHOTS, f"widths-{username or 'public'}-{name}-{label}.png"),
                        full_page=True)
    assert not problems, "\n".join(problems)
