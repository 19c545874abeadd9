"""Start the screening window (``spader app``): model, settings, theme, first source.

Everything a clinician could trip over ends in a message in the window, never a crash:
a missing default model or demo session is a banner; a bad ``--model`` or ``--source``
is an error dialog; an unexpected exception in the event loop is shown in a dialog and
printed to the terminal, and the window stays up.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any


def load_startup_model(path: str | None) -> tuple[Any, str | None]:
    """(model, None), or (None, why there is none)."""
    from core.spader.checkpoint import load_model

    try:
        if path:
            model = load_model(path, device="cpu")
            model.meta.setdefault("name", Path(path).stem)
            return model, None
        from core.assets import default_model_path

        p = default_model_path()
        model = load_model(p, device="cpu")
        model.meta.setdefault("name", "default")
        return model, None
    except Exception as exc:
        from app.dialogs import error_text

        return None, error_text(exc)


def _install_excepthook(window_ref: list) -> None:
    showing = [False]

    def hook(etype, value, tb) -> None:
        traceback.print_exception(etype, value, tb)
        if issubclass(etype, KeyboardInterrupt):
            from PySide6.QtWidgets import QApplication

            QApplication.quit()
            return
        if showing[0]:
            return
        showing[0] = True
        try:
            from app.dialogs import error_text, show_error

            show_error(window_ref[0] if window_ref else None, "Unexpected problem",
                       f"{error_text(value)}\n\nThe window keeps running; details are in the terminal.")
        finally:
            showing[0] = False

    sys.excepthook = hook


def main(args) -> int:
    """Run the window until it is closed (or for ``args.benchmark`` seconds)."""
    bench = getattr(args, "benchmark", None)
    if bench is not None:
        if bench <= 0:
            from core.errors import SpaderError

            raise SpaderError("--benchmark needs a positive number of seconds")
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from app import dialogs

        dialogs.NON_INTERACTIVE = True
    if getattr(args, "threads", None):
        from core.device import set_scoring_threads

        set_scoring_threads(int(args.threads))
    if bench is None:  # a window on X11: say what is missing before Qt aborts on it
        from app.platform_check import window_problem

        problem = window_problem()
        if problem:
            from core.errors import SpaderError

            raise SpaderError(problem)

    from PySide6.QtWidgets import QApplication

    from app import theme
    from app.controller import Controller
    from app.main_window import MainWindow
    from app.settings import AppSettings

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "spader"])
    app.setApplicationName("SPADER")
    theme.apply_theme(app)
    settings = AppSettings(getattr(args, "settings", None))

    model, why = load_startup_model(args.model)
    note = None
    if model is None and bench is not None:
        from core.runtime.bench import random_model

        print(f"note: no model ({why}); benchmarking with a tiny random-weight model", file=sys.stderr)
        model = random_model(tiny=True)
    elif model is None:
        note = why
    device = args.device or str(settings.get("scoring/device"))
    if not args.device:  # a value saved by an older version that is no device: the default again
        import argparse

        from core.cli.option_types import device as _device

        try:
            device = _device(device)
        except argparse.ArgumentTypeError:
            device = "auto"
    threads = args.threads if getattr(args, "threads", None) else "default"
    controller = Controller(model, device=device, threads=threads, backend=getattr(args, "backend", None) or "auto")
    window = MainWindow(controller, settings, model_note=note)
    if bench is not None:
        window.set_overlay(args.overlay or "cam")
    window_ref = [window]
    _install_excepthook(window_ref)
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    window.show()
    if model is None and args.model:
        from app.dialogs import show_error

        show_error(window, "Cannot open the model", f"{args.model}\n\n{why}")
    window.start(args.source)
    try:
        if bench is not None:
            from app.benchmark import format_report, run_benchmark, to_json

            report = run_benchmark(window, float(bench))
            print(format_report(report))
            print(to_json(report))
            if getattr(args, "benchmark_json", None):
                try:
                    Path(args.benchmark_json).write_text(to_json(report) + "\n")
                except OSError as exc:  # a full disk; the path itself was checked before the run
                    print(f"could not write {args.benchmark_json}: {exc.strerror or exc}", file=sys.stderr)
                    return 1
            if getattr(args, "screenshot", None):
                app.processEvents()
                if not window.grab().save(str(args.screenshot)):
                    print(f"could not write the screenshot {args.screenshot}", file=sys.stderr)
                    return 1
                print(f"wrote {args.screenshot}")
            if not report.get("frames_scored"):  # a benchmark that scored nothing measured nothing
                why = controller.scoring_error or "no frame was scored"
                print(f"error: the benchmark scored no frame ({why})", file=sys.stderr)
                return 1
            return 0
        return int(app.exec())
    finally:
        window.shutdown()
        window.close()
