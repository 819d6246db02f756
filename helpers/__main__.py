"""Command line: `python -m helpers doctor` checks that this machine is ready for the course."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers", description=__doc__)
    parser.add_argument("command", choices=["doctor"], help="what to run")
    parser.parse_args(argv)
    from .doctor import main as doctor

    return doctor()


if __name__ == "__main__":
    sys.exit(main())
