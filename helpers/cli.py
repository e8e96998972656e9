"""`python -m helpers COMMAND`: doctor, bases, cleanup, bundle, record, reset."""

from __future__ import annotations

import argparse
import sys

from helpers.bases import kit
from helpers.bases import provision as bases
from helpers.classroom import doctor
from helpers.engine.cleanup import cleanup
from helpers.errors import WorkbookError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers", description="Docker Images & Dockerfiles workbook helpers"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="what the workbook can do here (exit 1 when it can't run)")
    base = commands.add_parser("bases", help="pull every catalog base, or build stand-ins offline")
    base.add_argument("refs", nargs="*", help="only these catalog references")
    base.add_argument("--copy-to", metavar="HOST", help="then move the bases to the engine at HOST (save | load)")
    clean = commands.add_parser("cleanup", help="remove what the workbook created, nothing else")
    clean.add_argument(
        "--include-bases", action="store_true", help="also remove stand-in base images (they take minutes to rebuild)"
    )
    kit_command = commands.add_parser("bundle", help="the classroom kit: save or load every image in one file")
    kit_command.add_argument("action", choices=["save", "load", "verify"])
    kit_command.add_argument("file")
    kit_command.add_argument("refs", nargs="*", help="with save: only these images (default: bases and app images)")
    kit_command.add_argument(
        "--replace", action="store_true", help="with load: move tags on this engine that name other images"
    )
    rec = commands.add_parser("record", help="run notebooks on a real engine and record them for replay mode")
    rec.add_argument("notebooks", nargs="*", help="only these (a number like 01, or a file name)")
    back = commands.add_parser(
        "reset", help="one notebook as the repository has it (your copy kept), its work folders and images removed"
    )
    back.add_argument("notebook", help="a number like 05, or a file name")
    args = parser.parse_args(argv)
    try:
        if args.command == "doctor":
            text, ok = doctor.report()
            print(text)
            return 0 if ok else 1
        if args.command == "bases":
            results = bases.ensure_bases(only=args.refs or None, workers=2)
            missing = [r.ref for r in results if r.state == bases.MISSING]
            if args.copy_to and not missing:
                bases.copy_to(args.copy_to)
            return 1 if missing else 0
        if args.command == "bundle":
            if args.action == "save":
                kit.save(args.file, args.refs or None)
            elif args.action == "load":
                kit.load(args.file, replace=args.replace)
            else:
                manifest = kit.read_manifest(args.file)
                print(f"{args.file}: intact, {len(manifest['images'])} images, saved {manifest['created']}")
            return 0
        if args.command == "record":
            from helpers.classroom.record import record

            record(args.notebooks or None)
            return 0
        if args.command == "reset":
            from helpers.classroom.reset import reset

            done = reset(args.notebook)
            print(done)
            return 1 if done.failed else 0
        if args.command == "cleanup":
            removed = cleanup(include_bases=args.include_bases)
            print(removed)
            return 1 if removed.failed else 0
    except WorkbookError as exc:
        print(exc.paragraph(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return 2
