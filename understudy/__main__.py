"""``python -m understudy``: the same as the ``understudy`` command."""

from understudy.cli import app

if __name__ == "__main__":
    app(prog_name="understudy")
