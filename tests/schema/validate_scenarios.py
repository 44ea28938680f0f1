"""Validates scenario files against docs/scenario.schema.json (a CTest test, tests/CMakeLists.txt).

usage: validate_scenarios.py SCHEMA PATH...   (a PATH that is a directory means its *.json files)
Prints one line per invalid file with the first error's JSON path and message; exits 1 if any file is
invalid (or none was given), 0 otherwise.
"""
import json
import pathlib
import sys

import jsonschema


def main(argv):
    schema = json.loads(pathlib.Path(argv[1]).read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    files = []
    for arg in argv[2:]:
        p = pathlib.Path(arg)
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    if not files:
        print("no scenario files given")
        return 1
    bad = 0
    for f in files:
        errors = sorted(validator.iter_errors(json.loads(f.read_text())), key=lambda e: list(e.absolute_path))
        if errors:
            bad += 1
            e = errors[0]
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path).lstrip(".")
            print(f"{f}: {where or '(root)'}: {e.message}")
    print(f"{len(files) - bad} of {len(files)} scenario files valid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
