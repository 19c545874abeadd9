"""Can Qt open a window on this Linux desktop? Checked before Qt tries (it aborts).

Qt's xcb platform plugin links against X libraries that a fresh Debian or Ubuntu desktop
may lack (``libxcb-icccm4``, ``libxcb-keysyms1``, ...), and Qt then stops with a message
naming ``xcb-cursor0`` whatever is really missing. ``ldd`` on the plugin names the real
ones; each maps to its Debian package. `scripts/setup-env` installs them when it can
(root with apt-get) and otherwise prints the command; `spader app` names them and exits
before Qt aborts. No Qt import here.

    python -m app.platform_check          # report; exit 1 when libraries are missing
    python -m app.platform_check --fix    # install them with apt-get when root, else print how
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

# library file (as ldd names it) -> Debian / Ubuntu package
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0", "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1", "libxcb-shm.so.0": "libxcb-shm0", "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1", "libxcb-xinput.so.0": "libxcb-xinput0", "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1", "libX11.so.6": "libx11-6", "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0", "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3", "libglib-2.0.so.0": "libglib2.0-0", "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6", "libxcb-glx.so.0": "libxcb-glx0",
}
# loaded by the plugin at run time (dlopen), so ldd does not list it: Qt 6.5+ needs it
RUNTIME_LIBRARIES = ("libxcb-cursor.so.0",)


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, or None when PySide6 is not installed."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        p = Path(root) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if p.exists():
            return p
    return None


def parse_ldd(text: str) -> list[str]:
    """The libraries ``ldd`` could not find, in order, each once."""
    out: list[str] = []
    for line in text.splitlines():
        if "=> not found" in line:
            name = line.split("=>")[0].strip()
            if name and name not in out:
                out.append(name)
    return out


def _loadable(name: str) -> bool:
    import ctypes

    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


def missing_libraries(plugin: Path | None = None) -> list[str]:
    """The system libraries Qt's xcb plugin needs and cannot find here ([] when it can
    run, or when there is nothing to check: not Linux, no ldd, no PySide6)."""
    if not sys.platform.startswith("linux"):
        return []
    plugin = plugin or xcb_plugin()
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        text = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_ldd(text) + [lib for lib in RUNTIME_LIBRARIES if not _loadable(lib)]


def packages_for(libraries: list[str]) -> list[str]:
    return list(dict.fromkeys(DEBIAN_PACKAGES.get(lib, lib) for lib in libraries))


def install_command(libraries: list[str]) -> str:
    return "sudo apt-get install -y " + " ".join(packages_for(libraries))


def wants_xcb(env: dict[str, str] | None = None) -> bool:
    """Whether Qt would use its xcb plugin: an X display, and no other platform asked for."""
    env = os.environ if env is None else env
    asked = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if asked:
        return asked == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def window_problem(env: dict[str, str] | None = None, libraries: list[str] | None = None) -> str | None:
    """A message saying why the window cannot open and what to install, or None."""
    if not wants_xcb(env):
        return None
    missing = missing_libraries() if libraries is None else libraries
    if not missing:
        return None
    return (f"the window cannot open: Qt's X11 plugin needs system libraries this machine lacks: "
            f"{', '.join(missing)}. Install them with\n    {install_command(missing)}\n"
            "(Qt itself would only say that xcb-cursor0 is needed), or run without a window "
            "(QT_QPA_PLATFORM=offscreen).")


def fix(run: bool = True) -> int:
    """Install the missing packages with apt-get when root (and apt-get is there), else
    print the command. 0 when nothing is missing afterwards or only a print was possible."""
    missing = missing_libraries()
    if not missing:
        print("platform check: Qt's X11 plugin finds every library it needs")
        return 0
    pkgs = packages_for(missing)
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    apt = shutil.which("apt-get")
    if run and root and apt:
        print(f"platform check: installing {' '.join(pkgs)} (missing for Qt's X11 plugin)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        rc = subprocess.run([apt, "install", "-y", "-q", *pkgs], env=env).returncode
        if rc != 0:
            subprocess.run([apt, "update", "-q"], env=env)
            rc = subprocess.run([apt, "install", "-y", "-q", *pkgs], env=env).returncode
        left = missing_libraries()
        if not left:
            return 0
        print(f"platform check: still missing {', '.join(left)}; install them with: {install_command(left)}",
              file=sys.stderr)
        return 1
    print(f"platform check: the window needs system libraries this machine lacks ({', '.join(missing)}).\n"
          f"  Install them with: {install_command(missing)}\n"
          "  (Tests and --benchmark run without them, offscreen.)", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover - the command-line use
    if "--fix" in sys.argv[1:]:
        sys.exit(fix())
    problem = window_problem(env={**os.environ, "QT_QPA_PLATFORM": "xcb"})
    print(problem or "platform check: Qt's X11 plugin finds every library it needs")
    sys.exit(1 if problem else 0)
