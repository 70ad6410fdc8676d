#!/usr/bin/env python3
"""Module graph of a Rust crate from its `crate::`/`super::`/`self::` paths; reports cycles.

Usage: bench/modgraph.py crates/wirenote-core/src
Nodes are files (module paths such as conn::tracker); a path resolves to the deepest
module that exists. Also prints the graph between top-level modules. Comments and
`#[cfg(test)]` modules are not skipped for `use` lines (tests must obey the layering too).
"""
import os, re, sys
from collections import defaultdict

src = sys.argv[1]
mods = {}
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith('.rs'):
            continue
        rel = os.path.relpath(os.path.join(root, f), src)
        parts = rel[:-3].split(os.sep)
        if parts[-1] == 'mod':
            parts = parts[:-1]
        if parts == ['lib']:
            parts = []
        mods[tuple(parts)] = os.path.join(root, f)

path_re = re.compile(r'\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)')
group_re = re.compile(r'\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*?)\}', re.S)

def resolve(cur, kw, segs):
    if kw == 'crate':
        base = []
    elif kw == 'self':
        base = list(cur)
    else:
        base = list(cur[:-1])
        while segs and segs[0] == 'super':
            base = base[:-1]
            segs = segs[1:]
    full = base + segs
    for n in range(len(full), -1, -1):
        if tuple(full[:n]) in mods:
            return tuple(full[:n])
    return ()

def strip_comments(text):
    text = re.sub(r'//[^\n]*', '', text)
    return re.sub(r'/\*.*?\*/', '', text, flags=re.S)

edges = defaultdict(set)
for m, path in mods.items():
    text = strip_comments(open(path).read())
    for g in group_re.finditer(text):
        kw, prefix, inner = g.group(1), g.group(2), g.group(3)
        pre = [s for s in prefix.split('::') if s]
        for item in re.split(r'[,{}]', inner):
            item = item.strip().split(' as ')[0].strip()
            if not item:
                continue
            segs = pre + [s for s in item.split('::') if s and s != 'self']
            t = resolve(m, kw, segs)
            if t != m and t:
                edges[m].add(t)
    for p in path_re.finditer(text):
        kw, rest = p.group(1), p.group(2)
        segs = [s for s in rest.split('::') if s]
        t = resolve(m, kw, segs)
        if t != m and t:
            edges[m].add(t)

# A parent declaring `mod child;` is not an edge; a `pub use child::X` is (and is allowed:
# only the reverse, a child going through its parent, would make a cycle).
def name(m):
    return '::'.join(m) or 'lib'

def cycles(graph):
    found, color, stack = [], {}, []
    def dfs(u):
        color[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if color.get(v) == 1:
                found.append(stack[stack.index(v):] + [v])
            elif not color.get(v):
                dfs(v)
        stack.pop()
        color[u] = 2
    for u in sorted(graph):
        if not color.get(u):
            dfs(u)
    return found

print('# file-level module graph')
for m in sorted(mods):
    if edges[m]:
        print(f'{name(m)} -> ' + ', '.join(sorted(name(t) for t in edges[m])))
top = defaultdict(set)
for m, ts in edges.items():
    for t in ts:
        if m and t and m[0] != t[0]:
            top[m[0]].add(t[0])
print('\n# top-level module graph')
for m in sorted(top):
    print(f'{m} -> ' + ', '.join(sorted(top[m])))
file_cycles = cycles({k: v for k, v in edges.items() if k})
top_cycles = cycles(top)
print()
for c in file_cycles:
    print('FILE CYCLE: ' + ' -> '.join(name(x) for x in c))
for c in top_cycles:
    print('TOP CYCLE: ' + ' -> '.join(c))
if not file_cycles and not top_cycles:
    print('no cycles')
sys.exit(1 if file_cycles or top_cycles else 0)
