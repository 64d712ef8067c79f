#!/usr/bin/env python3
"""Every reference to the gateway contract must name a heading of docs/contract.md.

References are `contract(tag, ...)` comments (a heading must carry `tag` in backquotes) and
"§N" or "§N.M" in the code and tests (a heading must be numbered "N." or "N.M"). docs/protocol.md
numbers its own sections, so its § references are checked against its own headings.
Usage: check-contract-refs.py [ROOT]; prints each broken reference and exits 1 if there is one.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
SOURCES = ("core", "storage", "server", "tests", "static", "scripts")
SUFFIXES = {".cpp", ".hpp", ".ipp", ".js", ".sh", ".py", ".txt", ".html", ".css"}
TAG = re.compile(r"contract\(([a-z0-9, -]+)\)")
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)?)")


def headings(doc):
    """(numbers, tags) of a markdown file's headings."""
    numbers, tags = set(), set()
    for line in doc.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            continue
        m = re.match(r"#+\s+(\d+(?:\.\d+)?)\.?\s", line)
        if m:
            numbers.add(m.group(1))
        tags.update(re.findall(r"`([a-z0-9-]+)`", line))
    return numbers, tags


def sources():
    for top in SOURCES:
        for path in sorted((root / top).rglob("*")):
            if "node_modules" in path.parts or not path.is_file() or path.suffix not in SUFFIXES:
                continue
            if path.name in ("check-contract-refs.py", "contract_refs_test.sh"):
                continue  # the checker and its test plant broken references on purpose
            yield path


def main():
    contract = root / "docs" / "contract.md"
    if not contract.is_file():
        print(f"{contract}: missing (the code refers to it)")
        return 1
    numbers, tags = headings(contract)
    broken = []
    for path in sources():
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(root)}:{n}"
            for group in TAG.findall(line):
                for tag in (t.strip() for t in group.split(",")):
                    if tag not in tags:
                        broken.append(f"{where}: contract({tag}) names no heading of docs/contract.md")
            for ref in SECTION.findall(line):
                if ref not in numbers:
                    broken.append(f"{where}: §{ref} names no section of docs/contract.md")
    protocol = root / "docs" / "protocol.md"
    if protocol.is_file():
        own, _ = headings(protocol)
        for n, line in enumerate(protocol.read_text(encoding="utf-8").splitlines(), 1):
            for ref in SECTION.findall(line):
                if ref not in own:
                    broken.append(f"docs/protocol.md:{n}: §{ref} names no section of docs/protocol.md")
    for b in broken:
        print(b)
    return 1 if broken else 0


sys.exit(main())
