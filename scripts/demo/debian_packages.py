#!/usr/bin/python3
"""Turns Debian's package index into JSONL documents for `quarryctl ingest`.

    apt-cache dumpavail | scripts/demo/debian_packages.py > debian.jsonl

One document per package name (the first stanza of a name wins; later ones are
other versions or architectures of the same package):

    {"id": "mc", "text": "mc: Midnight Commander - a powerful file manager\n...",
     "metadata": {"section": "utils", "priority": "optional"}, "tags": ["utils"]}

The text is the short description plus the long one when the index has it.
Many machines keep long descriptions only in apt's Translation-en files (the
Packages index then has just "Description-md5"); those are read too when
present. The package's debtags, when it has any, are appended: they are real
words about what it does ("use::browsing, works-with::file").
"""
import glob
import json
import re
import subprocess
import sys

MAX_TEXT_BYTES = 16 * 1024  # the gateway takes up to 32 KiB per document
ID_OK = re.compile(r"^[A-Za-z0-9._:/@+=-]{1,256}$")


def stanzas(stream):
    """Yields each stanza of a deb822 stream as a dict of field -> value."""
    fields, name = {}, None
    for raw in stream:
        line = raw.rstrip("\n")
        if not line:
            if fields:
                yield fields
            fields, name = {}, None
        elif line[0] in " \t" and name is not None:
            fields[name] += "\n" + line
        elif ":" in line:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    if fields:
        yield fields


def long_description(value):
    """The long description lines of a Description field ("." is a blank line)."""
    lines = []
    for line in value.split("\n")[1:]:
        line = line.strip()
        lines.append("" if line == "." else line)
    return "\n".join(lines).strip()


def translations():
    """Description-md5 -> long description, from apt's Translation-en files."""
    found = {}
    for path in glob.glob("/var/lib/apt/lists/*_i18n_Translation-en*"):
        try:
            data = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path],
                                  check=True, capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError):
            continue
        for fields in stanzas(data.splitlines(keepends=True)):
            md5, text = fields.get("Description-md5"), fields.get("Description-en", "")
            if md5 and md5 not in found:
                found[md5] = long_description(text)
    return found


def truncate_utf8(text, limit):
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def main():
    long_by_md5 = translations()
    seen = set()
    written = with_long = 0
    out = sys.stdout
    for fields in stanzas(sys.stdin):
        name = fields.get("Package", "")
        if not name or name in seen or not ID_OK.match(name):
            continue
        seen.add(name)
        description = fields.get("Description", "")
        short = description.split("\n", 1)[0].strip()
        long_text = long_description(description) or long_by_md5.get(
            fields.get("Description-md5", ""), "")
        parts = [f"{name}: {short}"]
        if long_text:
            parts.append(long_text)
            with_long += 1
        if fields.get("Tag"):
            parts.append("Tags: " + " ".join(fields["Tag"].split()))
        section = fields.get("Section", "unknown")
        doc = {
            "id": name,
            "text": truncate_utf8("\n".join(parts), MAX_TEXT_BYTES),
            "metadata": {"section": section, "priority": fields.get("Priority", "unknown")},
            # A tag is at most 64 bytes; sections are short ("contrib/utils").
            "tags": [section[:64]],
        }
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        written += 1
    print(f"{written} packages ({with_long} with a long description, "
          f"{len(long_by_md5)} translations found)", file=sys.stderr)


if __name__ == "__main__":
    main()
