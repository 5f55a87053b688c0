"""Build the course website: a static HTML site made from solutions/ with their outputs.

    python book/build.py [--profile quick|full] [--out DIR]      (= make book)

Steps, each offline:

1. **Execute** every ``solutions/*.ipynb`` in order, in the chosen profile, with one kernel of
   this Python. A run is cached under ``$SESMLIB_CACHE_DIR/book`` (``~/.cache/sesmlib/book``),
   keyed by the notebook, the profile and the library's source, so a second build with
   nothing changed executes nothing. Trained models come from the usual model cache.
2. **Stage** the pages in ``DIR/src``: a home page made from the notebooks' title cells (the
   course path, objectives, time per notebook: read from the notebooks, so they cannot
   drift), one page per notebook with exercise solutions behind "Show solution" and Think!
   answers behind "Show answer", the reproduction report (docs/reproduction.md), and an API
   reference generated from the docstrings of every public ``sesmlib`` module.
   Widgets cannot run without a kernel: each is replaced by the picture it drew at its
   initial settings and a note naming those settings.
3. **Render** with Sphinx + MyST-NB and the book theme, MathJax from a local copy. Every
   Sphinx warning fails the build (a broken cross-reference, a page or module that cannot be
   read), except reStructuredText slips inside library docstrings, which are listed for
   their authors (``--strict`` fails on those too).
4. **Check** every page: each internal link and anchor resolves, and no page loads anything
   from another host (script, stylesheet, image, frame, CSS ``url()``).

The site is ``DIR/html/index.html`` (default DIR: ``_build/book``, git-ignored).
Exit status 0 when the site is complete and every check passed.
"""
from __future__ import annotations

import argparse
import hashlib
import html.parser
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
PROFILES = ("quick", "full")
# Bump when the staging below changes what an executed notebook must contain.
EXECUTION_FORMAT = "1"

ANSWER_MARKER = "<!-- ANSWER -->"
_BEGIN = re.compile(r"^\s*###\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*###\s*END SOLUTION\s*$")
_HINT = re.compile(r"^\s*###\s*HINT:")
_NBVAL = re.compile(r"^\s*#\s*NBVAL_[A-Z_]+\s*$")
_TIME = re.compile(r"\*\*Time:\*\*\s*(?:about\s+)?(\d+)\s*min", re.I)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


class BookError(RuntimeError):
    """A problem that stops the build; the message says what and where."""


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------- 1. execute


def _library_digest() -> str:
    """A digest of the source of the sesmlib that the kernels import."""
    import sesmlib

    root = Path(sesmlib.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def run_notebook(nb: dict, cwd: Path, timeout: float) -> dict:
    """Execute a notebook dict in ``cwd`` with a kernel of this very Python (not whatever
    ``python3`` kernel the user has installed), so it imports this checkout's sesmlib."""
    import ipykernel.kernelspec
    import nbformat
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    class _ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    node = nbformat.reads(json.dumps(nb), as_version=4)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=_ThisPython())
    NotebookClient(node, km=km, timeout=timeout, resources={"metadata": {"path": str(cwd)}}).execute()
    return json.loads(nbformat.writes(node))


def execute_all(solutions: list[Path], profile: str, timeout: float) -> dict[str, dict]:
    """Run each solution (cached); return {stem: executed notebook}."""
    from sesmlib._utils import atomic_write_bytes, cache_dir

    lib = _library_digest()
    cache = cache_dir("book")
    os.environ["SESMLIB_PROFILE"] = profile
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures
    ran_all = {}
    for src in solutions:
        raw = src.read_bytes()
        key = hashlib.sha256(b"\0".join([raw, profile.encode(), lib.encode(), EXECUTION_FORMAT.encode()]))
        cached = cache / f"{src.stem}-{profile}-{key.hexdigest()[:16]}.ipynb"
        if cached.exists():
            ran_all[src.stem] = json.loads(cached.read_text(encoding="utf-8"))
            log(f"  {src.stem}: executed output from the cache")
            continue
        t0 = time.perf_counter()
        log(f"  {src.stem}: executing ({profile} profile) ...")
        try:
            ran = run_notebook(json.loads(raw), src.parent, timeout)
        except Exception as exc:  # nbclient's CellExecutionError carries the cell and traceback
            raise BookError(f"solutions/{src.name} failed in the {profile} profile: "
                            f"{type(exc).__name__}: {_ANSI.sub('', str(exc))[-3000:]}\n"
                            f"Fix the notebook (make test PYTEST_ARGS='-k {src.stem}').") from None
        for stale in cache.glob(f"{src.stem}-{profile}-*.ipynb"):  # runs of older versions
            stale.unlink(missing_ok=True)
        atomic_write_bytes(cached, json.dumps(ran).encode())
        ran_all[src.stem] = ran
        log(f"  {src.stem}: done in {time.perf_counter() - t0:.0f} s")
    return ran_all


# ------------------------------------------------------------------------------ 2. stage


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def is_answer(cell: dict) -> bool:
    return cell.get("cell_type") == "markdown" and _source(cell).lstrip().startswith(ANSWER_MARKER)


def is_exercise(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and any(_BEGIN.match(l) for l in _source(cell).splitlines())


def _walk_widget(state: dict, model_id: str, found: dict, depth: int = 0) -> None:
    """Collect from a widget tree: Output widgets' outputs, controls and progress-bar text."""
    model = state.get(model_id)
    if model is None or depth > 20:
        return
    name, st = model.get("model_name", ""), model.get("state", {})
    if name == "OutputModel":
        found["outputs"].extend(st.get("outputs", []))
    elif name in ("FloatProgressModel", "IntProgressModel"):
        found["progress"] = True
    elif name == "HTMLModel":
        found["html"].append(re.sub(r"<[^>]+>", "", st.get("value", "")).replace("&nbsp;", " ").strip())
    elif st.get("description") is not None and ("value" in st or "index" in st):
        value = st.get("value")
        if "_options_labels" in st and isinstance(st.get("index"), int):
            value = st["_options_labels"][st["index"]]
        found["controls"].append(f"{st['description']} = {value}")
    for ref in st.get("children", []) or []:
        if isinstance(ref, str):
            _walk_widget(state, ref[len("IPY_MODEL_"):] if ref.startswith("IPY_MODEL_") else ref, found, depth + 1)


def static_widget_outputs(output: dict, state: dict) -> list[dict]:
    """What a page shows for one widget output: a progress bar as its final text line; an
    explorer as a note naming its settings followed by what it drew at those settings."""
    model_id = output["data"][WIDGET_VIEW]["model_id"]
    found = {"outputs": [], "controls": [], "html": [], "progress": False}
    _walk_widget(state, model_id, found)
    if found["progress"]:
        text = "  ".join(t for t in found["html"] if t)
        return [{"output_type": "stream", "name": "stdout", "text": text + "\n"}] if text else []
    settings = ", ".join(f"`{c}`" for c in found["controls"])
    note = ("*Interactive widget: run this notebook in JupyterLab (`make lab`) to move its controls. "
            + (f"Shown here at {settings}.*" if settings else "Shown here as first drawn.*"))
    md = {"output_type": "display_data", "metadata": {}, "data": {"text/markdown": note}}
    return [md] + [o for o in found["outputs"] if o.get("output_type") != "error"]


def page_notebook(ran: dict, *, profile: str) -> dict:
    """The executed solution as a page: solutions and answers collapsed, widgets made static,
    test markers removed."""
    nb = json.loads(json.dumps(ran))
    state = nb.get("metadata", {}).pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    cells = []
    for cell in nb["cells"]:
        src = _source(cell)
        if is_answer(cell):
            body = src.lstrip()[len(ANSWER_MARKER):].strip("\n")
            cell["source"] = (f'<details class="answer">\n<summary>Show answer</summary>\n\n{body}\n\n</details>\n')
        elif cell.get("cell_type") == "code":
            lines = [l for l in src.splitlines() if not (_NBVAL.match(l) or _BEGIN.match(l) or _END.match(l)
                                                         or (_HINT.match(l) and is_exercise(cell)))]
            if is_exercise(cell):
                meta = cell.setdefault("metadata", {})
                meta["tags"] = sorted(set(meta.get("tags", [])) | {"hide-input"})
                meta["mystnb"] = {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"}
            cell["source"] = "\n".join(lines)
            outputs = []
            for out in cell.get("outputs", []):
                if WIDGET_VIEW in out.get("data", {}):
                    outputs.extend(static_widget_outputs(out, state))
                else:
                    outputs.append(out)
            cell["outputs"] = outputs
        cells.append(cell)
    note = {
        "quick": ("This page was computed in the **quick** profile (fewer digits and epochs, so the site "
                  "builds in minutes): its numbers and pictures are rougher than the full profile's, "
                  "which the notebooks run by default."),
        "full": "This page was computed in the **full** profile, the one the notebooks run by default.",
    }[profile]
    cells.insert(1, {"cell_type": "markdown", "id": "book-profile-note", "metadata": {},
                     "source": f":::{{note}}\n{note} Exercise solutions are behind *Show solution*, "
                               f"model answers behind *Show answer*.\n:::\n"})
    nb["cells"] = cells
    return nb


def course_info(path: Path) -> dict:
    """Title, time (minutes), objectives and prerequisites from a notebook's title cell."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = _source(nb["cells"][0]) if nb.get("cells") else ""
    title = re.search(r"^#\s+(.+)$", first, re.M)
    minutes = _TIME.search(first)
    if not title or not minutes:
        raise BookError(f"solutions/{path.name}: the first cell must have a '# title' and '**Time:** about N minutes'")
    objectives = re.findall(r"^\d+\.\s+(.+(?:\n(?!\d+\.|\s*\n|\*\*).+)*)", first, re.M)
    prereq = re.search(r"\*\*Prerequisites:\*\*\s*(.+(?:\n(?!\s*\n).+)*)", first)
    return {
        "stem": path.stem,
        "title": title.group(1).strip(),
        "minutes": int(minutes.group(1)),
        "objectives": [" ".join(o.split()) for o in objectives],
        "prerequisites": " ".join(prereq.group(1).split()) if prereq else "",
    }


def home_page(infos: list[dict], profile: str) -> str:
    intro = (BOOK / "intro.md").read_text(encoding="utf-8").strip()
    total = sum(i["minutes"] for i in infos)
    rows = "\n".join(
        f"| {n} | [{i['title']}](notebooks/{i['stem']}.ipynb) | {i['minutes']} min |"
        for n, i in enumerate(infos)
    )
    parts = [
        intro,
        "",
        "## The course path",
        "",
        f"Work through the notebooks in order: about {total // 60} h {total % 60:02d} min in all.",
        "",
        "| step | notebook | time |",
        "|---|---|---|",
        rows,
        "",
        "## What you learn",
        "",
    ]
    for i in infos:
        parts += [f"### [{i['title']}](notebooks/{i['stem']}.ipynb)", "",
                  f"**Time:** about {i['minutes']} minutes.", ""]
        parts += [f"{k}. {o}" for k, o in enumerate(i["objectives"], 1)] + [""]
        if i["prerequisites"]:
            parts += [f"**Prerequisites:** {i['prerequisites']}", ""]
    parts += [
        "## About this site",
        "",
        f"Built by `make book` from the solution notebooks, executed in the **{profile}** profile"
        + (" (small and fast; the published site is built with `make book PROFILE=full`, the profile "
           "the notebooks run by default)." if profile == "quick" else " (the one the notebooks run by default)."),
        "Also here: the [reproduction report](reproduction.md) of the paper's Figure 1, and the "
        "[API reference](api/index.md) of `sesmlib`, generated from its docstrings.",
        "",
        "```{toctree}", ":hidden:", ":caption: Notebooks", "",
        *[f"notebooks/{i['stem']}" for i in infos],
        "```", "",
        "```{toctree}", ":hidden:", ":caption: Reference", "",
        "reproduction", "api/index",
        "```", "",
    ]
    return "\n".join(parts)


def public_modules() -> list[str]:
    """Every public module of sesmlib (no part of its name starting with '_')."""
    import sesmlib

    names = ["sesmlib"]
    for info in pkgutil.walk_packages(sesmlib.__path__, "sesmlib."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _members(module, documented: set[str]) -> tuple[list[str] | None, list[tuple[str, str]]]:
    """(names the module's page documents, [(name, home module)] re-exported from another page).

    A module with ``__all__`` documents each name once, where it is defined: a name that the
    module re-exports from another documented module is only listed (``sesmlib.SESM`` is
    ``sesmlib.sesm.SESM``). None: autodoc's default, what the module itself defines."""
    names = getattr(module, "__all__", None)
    if names is None:
        return None, []
    keep, elsewhere = [], []
    for name in names:
        home = getattr(getattr(module, name, None), "__module__", None)
        if home and home != module.__name__ and home in documented:
            elsewhere.append((name, home))
        else:
            keep.append(name)
    return keep, elsewhere


def api_pages() -> dict[str, str]:
    """{relative path: markdown} for the API reference: an index and one page per module."""
    import importlib

    modules = public_modules()
    documented = set(modules)
    pages, rows = {}, []
    for name in modules:
        module = importlib.import_module(name)
        doc = (module.__doc__ or "").strip().splitlines()
        summary = doc[0].rstrip(".") if doc else ""
        rows.append(f"| [`{name}`]({name}.md) | {summary} |")
        keep, elsewhere = _members(module, documented)
        options = "" if keep == [] else ("   :members:\n" if keep is None else f"   :members: {', '.join(keep)}\n")
        # autodoc writes reStructuredText, so the directive sits in an eval-rst block.
        text = f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n{options}   :show-inheritance:\n```\n"
        if elsewhere:
            text += "\nAlso importable from here: " + "; ".join(
                f"`{name}.{n}` ({{py:obj}}`{home}.{n}`)" for n, home in elsewhere) + ".\n"
        pages[f"api/{name}.md"] = text
    pages["api/index.md"] = (
        "# API reference\n\nThe library behind every number in the notebooks, generated from its "
        "docstrings (numpydoc style). One concept per module; data flows from `data` and `energy` "
        "through the models to `evaluate`, `experiments` and the pictures.\n\n"
        "| module | what it holds |\n|---|---|\n" + "\n".join(rows) + "\n\n"
        "```{toctree}\n:hidden:\n\n" + "\n".join(modules) + "\n```\n"
    )
    return pages


def _write_if_changed(path: Path, text: str) -> None:
    """Leave unchanged files alone, so Sphinx re-renders only what changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def stage(src_dir: Path, solutions: list[Path], executed: dict[str, dict], profile: str) -> None:
    infos = [course_info(p) for p in solutions]
    files = {"index.md": home_page(infos, profile),
             "reproduction.md": (REPO / "docs" / "reproduction.md").read_text(encoding="utf-8")}
    files.update(api_pages())
    for p in solutions:
        files[f"notebooks/{p.stem}.ipynb"] = json.dumps(page_notebook(executed[p.stem], profile=profile), indent=1)
    for rel, text in files.items():
        _write_if_changed(src_dir / rel, text)
    # Pages of a previous build that no longer exist (a renamed notebook or module).
    for old in src_dir.rglob("*"):
        if old.is_file() and old.relative_to(src_dir).as_posix() not in files:
            old.unlink()


# ----------------------------------------------------------------------------- 3. render


_WARNING_START = re.compile(r"(^|: )(WARNING|ERROR|SEVERE|CRITICAL): ")


def split_warnings(text: str) -> tuple[list[str], list[str]]:
    """(fatal, docstring-formatting) warnings from Sphinx's warning log.

    A reStructuredText slip inside a library docstring (say a list without its blank line)
    still renders, and is reported for its author to fix; everything else fails the build:
    a broken cross-reference, a page that cannot be read, a module that does not import."""
    entries: list[str] = []
    for line in text.splitlines():
        if _WARNING_START.search(line) or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    entries = [e for e in entries if e.strip()]
    docstring = [e for e in entries if "docstring of " in e.splitlines()[0] and e.splitlines()[0].rstrip().endswith("[docutils]")]
    return [e for e in entries if e not in docstring], docstring


def render(src_dir: Path, html_dir: Path, doctrees: Path, *, strict: bool = False) -> None:
    warnings_file = doctrees.parent / "sphinx-warnings.txt"
    warnings_file.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "--keep-going", "-q", "-w", str(warnings_file),
           "-c", str(BOOK), "-d", str(doctrees), str(src_dir), str(html_dir)]
    proc = subprocess.run(cmd, cwd=src_dir, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    fatal, docstring = split_warnings(warnings_file.read_text(encoding="utf-8") if warnings_file.exists() else "")
    if strict:
        fatal, docstring = fatal + docstring, []
    if docstring:
        log(f"  {len(docstring)} docstring formatting warnings (rendered anyway; fix them in the docstrings):\n    "
            + "\n    ".join(docstring))
    if proc.returncode != 0 or fatal:
        shutil.rmtree(doctrees, ignore_errors=True)  # so the next build reads every page again
        detail = "\n".join(fatal) or proc.stdout[-4000:]
        raise BookError(f"Sphinx reported {len(fatal)} problems (exit {proc.returncode}):\n{detail}\n"
                        f"Command: {' '.join(cmd)}")


# ------------------------------------------------------------------------------ 4. check


class _Page(html.parser.HTMLParser):
    RESOURCE_ATTRS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "embed": "src",
                      "video": "src", "audio": "src", "link": "href", "object": "data"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []       # <a href>: followed only when someone clicks
        self.resources: list[str] = []   # loaded with the page

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href") is not None:
            self.links.append(a["href"])
        attr = self.RESOURCE_ATTRS.get(tag)
        if attr and a.get(attr):
            self.resources.append(a[attr])
        if a.get("srcset"):
            self.resources += [part.split()[0] for part in a["srcset"].split(",") if part.strip()]


def _is_remote(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() in ("http", "https", "ftp", "ws", "wss") or url.strip().startswith("//")


def check_site(html_dir: Path) -> list[str]:
    """Problems: internal links or anchors that do not resolve, and anything a page would
    load from another host. Returns an empty list for a sound site."""
    pages: dict[Path, _Page] = {}
    for path in sorted(html_dir.rglob("*.html")):
        if path.relative_to(html_dir).parts[0] in ("_static", "_sources"):
            continue  # theme templates and page sources, not pages
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        pages[path.resolve()] = parser
    problems = []
    for path, page in pages.items():
        rel = path.relative_to(html_dir.resolve())
        for url in page.resources:
            if urlsplit(url).scheme in ("data", "blob"):
                continue
            if _is_remote(url):
                problems.append(f"{rel}: loads {url} from another host (the site must work offline)")
            else:
                target = (path.parent / unquote(urlsplit(url).path)).resolve()
                if not target.exists():
                    problems.append(f"{rel}: loads {url}, which does not exist")
        for url in page.links:
            parts = urlsplit(url)
            if _is_remote(url) or parts.scheme in ("mailto", "javascript", "data", "tel"):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: broken link {url}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{rel}: link {url} names an anchor that {target.name} does not have")
    for css in sorted(html_dir.rglob("*.css")):
        for url in re.findall(r"""url\(\s*['"]?([^'")]+)""", css.read_text(encoding="utf-8", errors="replace")):
            if _is_remote(url):
                problems.append(f"{css.relative_to(html_dir)}: loads {url} from another host")
        for url in re.findall(r"""@import\s+['"]([^'"]+)""", css.read_text(encoding="utf-8", errors="replace")):
            if _is_remote(url):
                problems.append(f"{css.relative_to(html_dir)}: imports {url} from another host")
    return problems


# -------------------------------------------------------------------------------- main


def build(out: Path, profile: str = "quick", timeout: float = 600, names: list[str] | None = None,
          strict: bool = False) -> Path:
    """Build the site into ``out/html``; return the path of its home page."""
    if profile not in PROFILES:
        raise BookError(f"--profile must be one of {PROFILES}, got {profile!r}")
    out = Path(out).resolve()
    if REPO in out.parents and not (out.relative_to(REPO).parts[0] == "_build"):
        raise BookError(f"--out {out}: inside the repository only _build/ is git-ignored; use _build/... or a folder outside")
    solutions = sorted((REPO / "solutions").glob("*.ipynb"))
    if names:
        solutions = [p for p in solutions if any(p.stem.startswith(n) for n in names)]
    if not solutions:
        raise BookError("no solution notebooks found in solutions/")
    t0 = time.perf_counter()
    log(f"1/4 executing {len(solutions)} notebooks ({profile} profile)")
    executed = execute_all(solutions, profile, timeout)
    t1 = time.perf_counter()
    log("2/4 staging pages")
    stage(out / "src", solutions, executed, profile)
    log("3/4 rendering HTML (Sphinx, MyST-NB)")
    render(out / "src", out / "html", out / "doctrees", strict=strict)
    t2 = time.perf_counter()
    log("4/4 checking links and offline assets")
    problems = check_site(out / "html")
    if problems:
        raise BookError(f"{len(problems)} problems in the built site:\n  " + "\n  ".join(problems[:50]))
    index = out / "html" / "index.html"
    log(f"built in {time.perf_counter() - t0:.0f} s (execute {t1 - t0:.0f} s, render {t2 - t1:.0f} s)")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python book/build.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("SESMLIB_PROFILE") or "quick", choices=PROFILES,
                        help="notebook profile the pages are computed in (default: quick, or $SESMLIB_PROFILE)")
    parser.add_argument("--out", type=Path, default=REPO / "_build" / "book",
                        help="build folder; the site goes to OUT/html (default: _build/book)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one notebook cell may run")
    parser.add_argument("--strict", action="store_true",
                        help="fail on docstring formatting warnings too (by default they are listed)")
    parser.add_argument("names", nargs="*", help=argparse.SUPPRESS)  # notebook prefixes, for development
    args = parser.parse_args(argv)
    try:
        index = build(args.out, args.profile, args.timeout, args.names or None, strict=args.strict)
    except BookError as exc:
        print(f"make book: {exc}", file=sys.stderr)
        return 1
    log(f"Course website: {index}\nOpen it in a browser (file://{index}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
