"""A fresh Linux desktop: the X11 libraries Qt's window needs are found by ldd, named, and
installed (root with apt-get) or given as a command, before Qt aborts."""

from __future__ import annotations

import pytest

from app import platform_check as pc

LDD = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
"""


def test_ldd_output_names_the_missing_libraries_and_their_packages() -> None:
    missing = pc.parse_ldd(LDD)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert pc.install_command(missing) == "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1"


@pytest.mark.parametrize("env, xcb", [({"DISPLAY": ":0"}, True), ({}, False), ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, False),
                                      ({"QT_QPA_PLATFORM": "xcb"}, True), ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "w"}, False)])
def test_only_an_x11_window_is_checked(env: dict, xcb: bool) -> None:
    assert pc.wants_xcb(env) is xcb
    problem = pc.window_problem(env, ["libxcb-keysyms.so.1"])
    assert (problem is not None) is xcb
    if xcb:
        assert "libxcb-keysyms.so.1" in problem and "sudo apt-get install -y libxcb-keysyms1" in problem


def test_the_check_on_this_machine_agrees_with_ldd() -> None:
    import shutil
    import subprocess

    plugin = pc.xcb_plugin()
    if plugin is None or shutil.which("ldd") is None:
        pytest.skip("no PySide6 xcb plugin or no ldd here")
    text = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    assert set(pc.parse_ldd(text)) <= set(pc.missing_libraries(plugin))


def test_setup_installs_with_apt_when_root_and_prints_the_command_otherwise(monkeypatch, capsys) -> None:
    state = {"missing": ["libxcb-icccm.so.4"]}
    calls = []
    monkeypatch.setattr(pc, "missing_libraries", lambda plugin=None: list(state["missing"]))
    monkeypatch.setattr(pc.shutil, "which", lambda name: f"/usr/bin/{name}")

    def run(cmd, **kw):
        calls.append(cmd)
        state["missing"] = []

        class R:
            returncode = 0
        return R()

    monkeypatch.setattr(pc.subprocess, "run", run)
    monkeypatch.setattr(pc.os, "geteuid", lambda: 1000)
    assert pc.fix() == 0 and not calls
    assert "sudo apt-get install -y libxcb-icccm4" in capsys.readouterr().err
    monkeypatch.setattr(pc.os, "geteuid", lambda: 0)
    assert pc.fix() == 0 and calls == [["/usr/bin/apt-get", "install", "-y", "-q", "libxcb-icccm4"]]


def test_the_app_names_the_missing_libraries_instead_of_letting_qt_abort(monkeypatch, capsys) -> None:
    from core.cli.main import main

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(pc, "missing_libraries", lambda plugin=None: ["libxcb-keysyms.so.1"])
    assert main(["app"]) != 0
    err = capsys.readouterr().err
    assert "libxcb-keysyms.so.1" in err and "sudo apt-get install -y libxcb-keysyms1" in err and "Traceback" not in err
