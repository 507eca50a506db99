"""``python -m evidence`` — the same commands as ``adwatch evidence``."""

from evidence.cli import evidence

if __name__ == "__main__":
    evidence(prog_name="adwatch evidence")
