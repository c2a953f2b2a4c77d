"""The web process's gunicorn settings (app/gunicorn_conf.py)."""
import gc

from app import gunicorn_conf


def test_worker_start_moves_loaded_objects_out_of_the_collectors_reach():
    before = gc.get_freeze_count()
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_procfiles_load_the_settings():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for procfile in (root / "Procfile", root / "scripts" / "Procfile.embedded"):
        web = next(line for line in procfile.read_text().splitlines() if line.startswith("web:"))
        assert "-c python:app.gunicorn_conf" in web, procfile
