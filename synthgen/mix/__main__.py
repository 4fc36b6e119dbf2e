"""``python -m synthgen.mix ...``: the ``synthgen mix`` command on its own parser."""
import argparse
import sys

from synthgen.mix.cli import add_mix_arguments, run_mix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synthgen mix",
                                     description="Mix synthetic and real pose datasets.")
    add_mix_arguments(parser)
    return run_mix(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
