"""The notebook profile (quick or full), read by every notebook's parameters cell."""
from __future__ import annotations

import os

PROFILES = ("quick", "full")


def profile() -> str:
    """The notebook profile, ``"quick"`` or ``"full"``, from ``$SESMLIB_PROFILE``.

    Students get ``"full"`` (the default); ``make test`` sets ``quick`` so every notebook
    runs in about a minute. Each notebook's parameters cell reads it:
    ``QUICK = profile() == "quick"``.

    Raises
    ------
    ValueError
        When ``$SESMLIB_PROFILE`` is set to anything else.

    Examples
    --------
    >>> profile() in ("quick", "full")
    True
    """
    value = os.environ.get("SESMLIB_PROFILE", "").strip().lower()
    if not value:
        return "full"
    if value not in PROFILES:
        raise ValueError(
            f"SESMLIB_PROFILE must be 'quick' or 'full' (or unset, meaning 'full'), "
            f"got {os.environ['SESMLIB_PROFILE']!r}"
        )
    return value
