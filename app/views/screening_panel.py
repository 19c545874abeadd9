"""The screening panel: what the operator does next, in large letters.

It shows a state the window reads from the running screening (core.screening): the
instruction, the 3-2-1, the countdown of the running attempt, the outcome, the result.
It decides nothing itself.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout


class ScreeningPanel(QFrame):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(4)
        self.title = QLabel("")
        self.title.setObjectName("dim")
        self.title.setAlignment(Qt.AlignCenter)
        self.big = QLabel("")
        self.big.setAlignment(Qt.AlignCenter)
        self.big.setWordWrap(True)
        self.big.setStyleSheet("font-size: 18pt; font-weight: bold;")
        self.hint = QLabel("")
        self.hint.setAlignment(Qt.AlignCenter)
        self.hint.setWordWrap(True)
        self.keys = QLabel("")
        self.keys.setObjectName("dim")
        self.keys.setAlignment(Qt.AlignCenter)
        self.keys.setWordWrap(True)
        for w in (self.title, self.big, self.hint, self.keys):
            lay.addWidget(w)
        self.title.setWordWrap(True)
        self.hint.setStyleSheet("font-size: 10pt;")
        # as tall as its text needs: never squeezed by the views below it
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Minimum)
        self.state: tuple[str, str, str, str] = ("", "", "", "")

    def show_state(self, title: str, big: str, hint: str, keys: str) -> None:
        state = (title, big, hint, keys)
        if state == self.state:
            return
        self.state = state
        self.title.setText(title)
        # a countdown ("3", "7 s") in very large digits, sentences smaller so they fit
        size = 40 if len(big) <= 4 else 18
        self.big.setStyleSheet(f"font-size: {size}pt; font-weight: bold;")
        self.big.setText(big)
        self.hint.setText(hint)
        self.keys.setText(keys)
        self.setMinimumHeight(self.sizeHint().height())
