"""Sphinx configuration of the course website (book/build.py stages the pages and runs Sphinx
with ``-c book``). Everything the pages load is copied into the site: the theme's assets and
MathJax (from the sphinx-mathjax-offline package), so the site builds and reads offline."""
from __future__ import annotations

import re

import sesmlib

project = "Sparse Feature Learning: a course on SESM"
author = "the SESM course-pack authors"
copyright = "MIT licence"
version = release = sesmlib.__version__

extensions = [
    "myst_nb",                  # notebooks and Markdown pages
    "sphinx.ext.autodoc",       # the API reference, from the docstrings
    "sphinx.ext.napoleon",      # numpydoc-style sections
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",   # MathJax 3 copied into _static (no CDN)
]

# Notebooks arrive executed (book/build.py caches the runs); MyST-NB only renders them.
nb_execution_mode = "off"
# No widget manager from a CDN: widgets are made static by book/build.py.
nb_ipywidgets_js = {}
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
# The notebooks put "### Parameters" right under their title: a style choice, not an error.
# ref.python: a name in a docstring's type field (say "W" in "(P, H*W)") that matches several
# attributes links to one of them; ambiguous, not broken.
suppress_warnings = ["myst.header", "ref.python"]

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
napoleon_google_docstring = False
napoleon_numpy_docstring = True

html_theme = "sphinx_book_theme"
html_title = "SESM course"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}
html_show_sourcelink = False
html_last_updated_fmt = None


# ------------------------------------------------------------------ docstrings as plain text
# The docstrings are written for help() as much as for this site: |x| is an absolute value
# and a trailing underscore marks a learned attribute (W_), while reStructuredText reads them
# as a substitution and a link. Escape both in running text, never inside literals, roles,
# doctests, literal blocks, or the content of math and code directives.

_INLINE_LITERAL = re.compile(r"(``.*?``|:[\w.:+-]+:`[^`]*`|`[^`]*`_{0,2})")
_DIRECTIVE = re.compile(r"^\s*\.\.\s+([\w:-]+)::")
_LITERAL_DIRECTIVES = {"math", "code-block", "code", "sourcecode", "doctest", "testcode", "testoutput",
                       "raw", "literalinclude", "parsed-literal"}


def _escape_running_text(text: str) -> str:
    parts = _INLINE_LITERAL.split(text)
    for i in range(0, len(parts), 2):  # even parts lie outside literals and roles
        parts[i] = re.sub(r"(?<!\\)\|", r"\\|", parts[i])
        parts[i] = re.sub(r"(?<=\w)(?<!\\)_(?=[^\w`]|$)", r"\\_", parts[i])
    return "".join(parts)


def escape_plain_docstring(lines: list[str]) -> list[str]:
    out, literal_indent, doctest = [], None, False
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if literal_indent is not None:
            if not stripped or indent > literal_indent:
                out.append(line)
                continue
            literal_indent = None
        if stripped.startswith(">>>"):
            doctest = True
        if doctest:
            doctest = bool(stripped)
            out.append(line)
            continue
        directive = _DIRECTIVE.match(line)
        if directive:
            if directive.group(1) in _LITERAL_DIRECTIVES:
                literal_indent = indent
            out.append(line)  # a directive's argument is a name or language, not text
            continue
        if stripped.startswith(":") and out and _DIRECTIVE.match(out[-1] or ""):
            out.append(line)  # directive options
            continue
        out.append(_escape_running_text(line))
        if stripped.endswith("::"):
            literal_indent = indent
    return out


def _on_docstring(app, what, name, obj, options, lines):
    lines[:] = escape_plain_docstring(lines)


def setup(app):
    # after napoleon (priority 500) has turned numpydoc sections into reStructuredText
    app.connect("autodoc-process-docstring", _on_docstring, priority=600)
