#!/usr/bin/env python3
"""Counts test cases over Bazel's JUnit XML files and prints one closing line.

Usage: test_summary.py BAZEL_TESTLOGS_DIR [NOTE_FILE ...]
Prints each NOTE_FILE's lines (e.g. whether the optional model-file tests were
built), then "tests: N passed, N failed[, N skipped]" as the last line, and
exits 1 when any test case failed or when no test case ran at all.
"""
import pathlib
import sys
import xml.etree.ElementTree as ET


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs")
    passed = failed = skipped = 0
    failed_cases = []
    for xml_path in sorted(root.resolve().rglob("test.xml")):
        try:
            tree = ET.parse(xml_path)
        except ET.ParseError:
            failed += 1
            failed_cases.append(f"{xml_path}: unreadable test.xml")
            continue
        for case in tree.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failed_cases.append(f"{case.get('classname')}.{case.get('name')}")
            elif case.find("skipped") is not None or case.get("status") == "notrun":
                skipped += 1
            else:
                passed += 1
    for name in failed_cases:
        print(f"FAILED: {name}")
    for note in sys.argv[2:]:
        try:
            print(pathlib.Path(note).read_text(encoding="utf-8").strip())
        except OSError as error:
            print(f"note {note} unreadable: {error}")
    line = f"tests: {passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
