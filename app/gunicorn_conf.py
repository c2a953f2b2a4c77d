"""gunicorn settings of the web process (Procfile and the benchmark): ``gunicorn -c python:app.gunicorn_conf``."""
import gc


def post_worker_init(worker):
    """Move what the worker loaded to serve (modules, models, SQLAlchemy metadata, templates: ~200,000
    objects that live as long as the worker) out of the cyclic collector's reach. Every full
    collection walked all of them (~80 ms, stalling every thread of the worker); objects made after
    this are collected as before."""
    gc.collect()
    gc.freeze()
