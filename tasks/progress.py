"""Progress of a long command on stderr: a bar redrawn in place on a terminal, periodic lines elsewhere.

Hand-written: tqdm draws the bar but writes `\\r` redraws into a log file too, and the two
modes fit in forty lines.
"""

import time

BAR_WIDTH = 30
# Seconds between two lines when stderr is a file or a pipe (a log, a CI job).
LINE_INTERVAL = 10.0


class Progress:
    """update(count, fraction) as work goes; finish(count) once. `fraction` is for when the total is unknown."""

    def __init__(self, stream, verb, total=None, clock=time.monotonic):
        self.stream, self.verb, self.total, self.clock = stream, verb, total, clock
        self.on_terminal = stream.isatty()
        self.started = self.last_line = clock()

    def update(self, count, fraction=None):
        if self.total:
            fraction = count / self.total
        if self.on_terminal:
            self.draw(count, fraction)
        elif self.clock() - self.last_line >= LINE_INTERVAL:
            self.last_line = self.clock()
            self.stream.write(self.line(count, fraction))

    def finish(self, count):
        if self.on_terminal:
            self.draw(count, 1.0)
            self.stream.write("")

    def draw(self, count, fraction):
        counted = f"{count}/{self.total}" if self.total else f"{count}"
        if fraction is not None:
            filled = min(BAR_WIDTH, int(BAR_WIDTH * fraction))
            counted = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "] " + counted
        self.stream.write("\r" + counted, ending="")
        self.stream.flush()

    def line(self, count, fraction):
        elapsed = max(self.clock() - self.started, 1e-9)
        done = f"{count}/{self.total}" if self.total else f"{count}"
        share = f" ({fraction:.0%})" if fraction is not None and not self.total else ""
        return f"{self.verb} {done} task(s){share} in {elapsed:.0f} s, {count / elapsed:.0f}/s"
