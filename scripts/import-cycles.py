#!/usr/bin/env python3
"""Import cycles between the files of each crate: `make lint` fails on any.

A file's module path comes from its place under src/ (src/a/b.rs and src/a/b/mod.rs are `a::b`).
Every `crate::`, `super::` and `self::` path in a file (in `use` lists too) is resolved to the
longest module prefix that is a file of the crate; an edge goes from the file to that module's
file. `mod x;` declarations are not edges (a parent names its children). Inline test modules
(`#[cfg(test)] mod tests { ... }`) count as their file, so a test that imports a module which
imports the file is a cycle as well. A cycle is reported with the files along it.

Usage: scripts/import-cycles.py [crate dir ...]   (default: every crate of the workspace)
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def crate_dirs():
    members = []
    text = open(os.path.join(ROOT, "Cargo.toml")).read()
    block = re.search(r"members\s*=\s*\[(.*?)\]", text, re.S)
    for m in re.findall(r'"([^"]+)"', block.group(1) if block else ""):
        members.append(os.path.join(ROOT, m))
    return members


def module_of(src, path):
    rel = os.path.relpath(path, src)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return tuple(rel)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(re.sub(r"//.*", "", line) for line in text.split("\n"))


def expand_use(prefix, body):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (paths as lists)."""
    out = []
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    for part in parts:
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([\w:]*?)(::)?\{(.*)\}$", part, re.S)
        if m:
            inner_prefix = prefix + [p for p in m.group(1).split("::") if p]
            out += expand_use(inner_prefix, m.group(3))
        else:
            out.append(prefix + [p.strip() for p in part.split(" as ")[0].split("::") if p.strip()])
    return out


def references(text):
    """Every path starting with crate/super/self (list of segments)."""
    paths = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)\s*::[^;]*);", text, re.S):
        stmt = re.sub(r"\s+", "", m.group(1))
        head, _, rest = stmt.partition("::")
        if rest.startswith("{"):
            paths += expand_use([head], rest[1:-1])
        else:
            paths += expand_use([head], rest) if "{" in rest else [[head] + rest.split("::")]
    for m in re.finditer(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", text):
        paths.append(m.group(1).split("::"))
    return paths


def resolve(path, here, is_mod_file, modules):
    segs = list(path)
    if segs[0] == "crate":
        base = []
        segs = segs[1:]
    elif segs[0] == "self":
        base = list(here)
        segs = segs[1:]
    else:  # super (possibly repeated)
        base = list(here)
        while segs and segs[0] == "super":
            base = base[:-1]
            segs = segs[1:]
    full = base + segs
    for n in range(len(full), -1, -1):
        if tuple(full[:n]) in modules:
            return tuple(full[:n])
    return None


def cycles_of(crate):
    src = os.path.join(crate, "src")
    files = {}
    for dirpath, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                files[module_of(src, path)] = path
    edges = {m: set() for m in files}
    for mod, path in files.items():
        text = strip_comments(open(path).read())
        is_mod_file = os.path.basename(path) in ("lib.rs", "main.rs", "mod.rs")
        # Inside an inline module (tests), `super` means this file.
        outer, _, inline = text.partition("#[cfg(test)]")
        for part, here in ((outer, mod), (inline, mod + ("tests",))):
            for ref in references(part):
                target = resolve(ref, here, is_mod_file, files)
                if target is not None and target != mod:
                    edges[mod].add(target)
    found = []
    state = {}
    stack = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return [[os.path.relpath(files[m], ROOT) for m in cycle] for cycle in found]


def main():
    crates = [os.path.abspath(c) for c in sys.argv[1:]] or crate_dirs()
    bad = 0
    for crate in crates:
        for cycle in cycles_of(crate):
            bad += 1
            print("import cycle: " + " -> ".join(cycle))
    if bad:
        print(f"{bad} import cycle(s): move what both sides need one floor down")
        return 1
    print(f"no import cycles in {len(crates)} crates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
