"""Run the rules CLI: ``python -m rules``."""

from rules.cli import rules

if __name__ == "__main__":
    rules(prog_name="rules")
