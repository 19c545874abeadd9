"""Where the bundled defaults live: the default model and the demo session."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DEFAULT_MODEL = ASSETS / "models" / "default.safetensors"
DEFAULT_MODEL_EVAL = ASSETS / "models" / "default-eval.json"
DEMO_SESSION = ASSETS / "demo" / "session"
DEMO_PROTOCOL = ASSETS / "protocols" / "demo.json"  # the pigeon task with a 1 s countdown


def default_model_path() -> Path:
    """The bundled model; raises ModelFileError with a hint when it is missing."""
    if not DEFAULT_MODEL.is_file():
        from core.errors import ModelFileError

        raise ModelFileError(
            f"the bundled default model is missing ({DEFAULT_MODEL}); pass --model or "
            "re-create it with the command in assets/README.md"
        )
    return DEFAULT_MODEL


def demo_session_path() -> Path:
    if not (DEMO_SESSION / "session.json").is_file():
        from core.errors import DataError

        raise DataError(f"the bundled demo session is missing ({DEMO_SESSION})")
    return DEMO_SESSION
