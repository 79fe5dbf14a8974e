"""Starting identification runs from the web: in a background thread (the default), or at once
(`KINFOLD_JOBS = "inline"`, for tests and single-threaded servers). The page polls the run's row."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection, transaction

from kinfold.programme import identification
from kinfold.programme.models import IdentificationRun

log = logging.getLogger(__name__)


def launch(run: IdentificationRun) -> None:
    """Carry out a queued run after the current transaction commits."""
    if getattr(settings, "KINFOLD_JOBS", "thread") == "inline":
        _run(run.pk, close=False)
        return
    worker = threading.Thread(
        target=_run, args=(run.pk,), name=f"identify-{run.run_id}", daemon=True
    )
    transaction.on_commit(worker.start)


def _run(pk: int, close: bool = True) -> None:
    try:
        run = IdentificationRun.objects.get(pk=pk)
        identification.execute_run(run)
    except Exception:  # the run row records the failure for the page; nothing to raise to
        log.warning("identification run %s failed", pk, exc_info=True)
    finally:
        if close:
            connection.close()
