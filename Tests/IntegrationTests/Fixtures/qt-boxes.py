#!/usr/bin/python3
"""A Qt widgets window with four known coloured boxes, for ApplicationTests.

    qt-boxes.py 5|6     (PyQt5 or PyQt6; run with QT_QPA_PLATFORM=wayland)

A 2x2 grid of plain QWidgets without margins or spacing, each 160x120 with a solid stylesheet
background: red FF0000 (top left), green 00FF00 (top right), blue 0000FF (bottom left),
yellow FFFF00 (bottom right). The test finds the red box and checks the others next to it.
It prints "shown" once the window is exposed.
"""
import sys

if len(sys.argv) != 2 or sys.argv[1] not in ("5", "6"):
    sys.exit("usage: qt-boxes.py 5|6")
if sys.argv[1] == "5":
    from PyQt5.QtCore import QTimer
    from PyQt5.QtWidgets import QApplication, QGridLayout, QWidget
else:
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication, QGridLayout, QWidget

app = QApplication(sys.argv[:1])
window = QWidget()
window.setWindowTitle("qt-boxes")
grid = QGridLayout(window)
grid.setContentsMargins(0, 0, 0, 0)
grid.setSpacing(0)
for index, colour in enumerate(["#ff0000", "#00ff00", "#0000ff", "#ffff00"]):
    box = QWidget()
    box.setFixedSize(160, 120)
    box.setStyleSheet("background-color: %s;" % colour)
    grid.addWidget(box, index // 2, index % 2)
window.show()
QTimer.singleShot(0, lambda: print("shown, platform=%s" % app.platformName(), flush=True))
sys.exit(app.exec() if sys.argv[1] == "6" else app.exec_())
