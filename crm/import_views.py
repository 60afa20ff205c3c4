"""Placeholder: this feature is being built (issue 3) and adds nothing yet."""

from __future__ import annotations

from typing import Any

from flask import Flask


def install(app: Flask, state: Any) -> None:
    """Wire the feature into the app (nothing yet)."""
