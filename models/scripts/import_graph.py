"""The import graph of the Python packages under models/, read from the source with `ast`.

  /usr/bin/python3 models/scripts/import_graph.py [--show-edges]

Counts every import between the packages' own modules, those at module level and those inside
functions (a lazy import still ties two modules together), and prints: modules, edges, and the
import cycles (strongly connected components of more than one module, or a module importing
itself). It also prints the graph between avloc_corpus' subpackages. Exits 1 if there is a cycle.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
from collections import defaultdict

MODELS = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def modules(root: str) -> dict:
    """{dotted name: file} for every .py file inside a package directly under root."""
    out = {}
    for top in sorted(os.listdir(root)):
        if not os.path.isfile(os.path.join(root, top, "__init__.py")):
            continue
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(x for x in dirs if os.path.isfile(os.path.join(d, x, "__init__.py")))
            pkg = os.path.relpath(d, root).replace(os.sep, ".")
            for f in sorted(files):
                if f.endswith(".py"):
                    out[pkg if f == "__init__.py" else f"{pkg}.{f[:-3]}"] = os.path.join(d, f)
    return out


def imports(name: str, path: str, known: dict) -> list:
    """[(target module, lazy)] for the imports in one file that name one of `known`."""
    is_pkg = path.endswith("__init__.py")
    here = name if is_pkg else name.rpartition(".")[0]
    tree = ast.parse(open(path).read(), path)
    lazy_nodes = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(f) if n is not f}
    out = []

    def longest(dotted: str):
        parts = dotted.split(".")
        for k in range(len(parts), 0, -1):
            if ".".join(parts[:k]) in known:
                return ".".join(parts[:k])
        return None

    for node in ast.walk(tree):
        lazy = id(node) in lazy_nodes
        if isinstance(node, ast.Import):
            for a in node.names:
                t = longest(a.name)
                if t:
                    out.append((t, lazy))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for a in node.names:
                t = f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else longest(mod)
                if t:
                    out.append((t, lazy))
    return out


def cycles(graph: dict) -> list:
    """Strongly connected components (Tarjan) with more than one node, or with a self-loop."""
    index, low, stack, on, out = {}, {}, [], set(), []
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=MODELS, help="the folder holding the packages (models/)")
    p.add_argument("--show-edges", action="store_true")
    a = p.parse_args(argv)
    known = modules(a.root)
    graph, top_level = defaultdict(set), defaultdict(set)
    for name, path in known.items():
        for t, lazy in imports(name, path, known):
            if t != name or not path.endswith("__init__.py"):
                graph[name].add(t)
                if not lazy:
                    top_level[name].add(t)
    n_edges = sum(len(v) for v in graph.values())
    n_top = sum(len(v) for v in top_level.values())
    found = cycles(graph)
    print(f"modules {len(known)}, edges {n_edges} ({n_top} at module level, {n_edges - n_top} inside functions), "
          f"cycles {len(found)}")
    for c in found:
        print("  cycle:", " <-> ".join(c))
    corpus = {m for m in known if m.startswith("avloc_corpus")}
    sub = lambda m: ".".join(m.split(".")[:2])   # avloc_corpus.<subpackage or module>
    c_edges = [(m, t) for m in sorted(corpus) for t in sorted(graph.get(m, ())) if t in corpus]
    c_cycles = [c for c in found if c[0].startswith("avloc_corpus")]
    print(f"avloc_corpus: modules {len(corpus)}, edges {len(c_edges)}, cycles {len(c_cycles)}")
    pkg_graph = defaultdict(set)
    for m, t in c_edges:
        if sub(m) != sub(t):
            pkg_graph[sub(m)].add(sub(t))
    units = sorted({sub(m) for m in corpus})
    pkg_cycles = cycles(pkg_graph)
    print(f"avloc_corpus top level: {len(units)} units, edges {sum(len(v) for v in pkg_graph.values())}, "
          f"cycles {len(pkg_cycles)}")
    for u in units:
        if u in pkg_graph:
            print(f"  {u} -> {', '.join(sorted(pkg_graph[u]))}")
    for c in pkg_cycles:
        print("  cycle:", " <-> ".join(c))
    if a.show_edges:
        for m in sorted(graph):
            print(f"{m} -> {', '.join(sorted(graph[m]))}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
