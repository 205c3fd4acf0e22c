"""Auditors' HTTP API: placeholder router, filled in by the audit issue."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/audit", tags=["audit"])
