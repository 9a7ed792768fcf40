#!/usr/bin/env python3
"""Reads a DocC coverage report (documentation-coverage.json) and fails when a public symbol has no documentation.

Usage: doc_coverage.py TARGET REPORT.json. Every symbol DocC lists (synthesized members are left out by the caller's
--experimental-skip-synthesized-symbols) must have an abstract, i.e. a `///` comment. Collection groups such as
"Equatable Implementations" are DocC's own pages, not declarations, and are skipped; so are the members the compiler
derives for a conformance (Codable's init(from:) and encode(to:), RawRepresentable's init(rawValue:), Hashable's
hash(into:)), which DocC still lists and which the protocol documents.
"""
import json
import sys

DERIVED = ("init(from:)", "encode(to:)", "init(rawValue:)", "rawValue", "hash(into:)", "hashValue", "allCases")


def main() -> int:
    target, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        symbols = json.load(f)
    # DocC's own pages (collection groups, and the pages of other modules this one extends) are not declarations.
    pages = ("CollectionGroup", "Extended Module")
    declarations = [s for s in symbols if s.get("kind", {}).get("isSymbol") and s["kind"]["name"] not in pages]
    names = [s["referencePath"].split("/documentation/", 1)[-1] for s in declarations if not s.get("hasAbstract")]
    missing = sorted(n for n in names if not n.split("/")[-1].split("-")[0] in DERIVED)
    if missing:
        print(f"docs: {target}: {len(missing)} of {len(declarations)} public declarations have no /// comment:")
        for name in missing[:200]:
            print(f"  {name}")
        if len(missing) > 200:
            print(f"  ... and {len(missing) - 200} more")
        return 1
    print(f"docs: {target}: all {len(declarations)} public declarations documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
