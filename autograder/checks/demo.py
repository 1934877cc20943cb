"""Which demo cells grading may leave out.

A lesson tags a code cell ``demo`` when it is a plot or an experiment that nothing graded
depends on. Grading skips such a cell when the submission left it exactly as released AND no
cell that does run reads a name it defines: a student's scratch cell that plots a demo's
results, or a demo cell the student changed (which then runs like any other cell), pulls in
the demo cells it reads from. The names come from the cells' syntax (``ast``): what a cell
reads before it assigns it, including the free names of the functions it defines (the
functions are called later, by the tests and the judge). A cell whose reads cannot be known
(``globals()``, ``eval``, ``exec``, IPython's ``user_ns``, or code that does not parse)
needs every demo cell before it. Instructors keep demo cells free of side effects that other
cells use (no in-place updates of shared objects, no global seeds).
"""

import ast

from autograder.checks.scan import _to_python

DEMO_TAG = "demo"
_DYNAMIC = {"globals", "locals", "vars", "eval", "exec", "__import__", "get_ipython"}


def normalized(source):
    """A cell's source for comparison: list or str, without trailing spaces and blank ends."""
    text = "".join(source) if isinstance(source, list) else str(source)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


class _Reads(ast.NodeVisitor):
    """Names a piece of code reads from the enclosing (module) scope."""

    def __init__(self):
        self.names, self.dynamic = set(), False

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.names.add(node.id)

    def visit_Call(self, node):
        if isinstance(node.func, ast.Name) and node.func.id in _DYNAMIC:
            self.dynamic = True
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in ("user_ns", "user_global_ns", "f_globals", "__dict__"):
            self.dynamic = True
        self.generic_visit(node)

    def _function(self, node):
        if not isinstance(node, ast.Lambda):
            for d in node.decorator_list:
                self.visit(d)
        for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(d)
        inner = _Reads()
        for stmt in node.body if isinstance(node.body, list) else [node.body]:
            inner.visit(stmt)
        args = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        declared = {n for g in ast.walk(node) if isinstance(g, ast.Global) for n in g.names}
        local = (args | _binds(node.body if isinstance(node.body, list) else [])) - declared
        self.names |= inner.names - local
        self.dynamic |= inner.dynamic

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _comprehension(self, node):
        inner = _Reads()
        inner.generic_visit(node)
        targets = {
            n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)
        }
        self.names |= inner.names - targets
        self.dynamic |= inner.dynamic

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _binds(body):
    """Every name a list of statements may bind (assignments anywhere, defs, imports)."""
    out = set()
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                out.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return out


def _sure_binds(stmt):
    """Names a top-level statement always binds (assignment, def, class, import)."""
    if isinstance(stmt, ast.Assign | ast.AnnAssign) and getattr(stmt, "value", None):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {
            n.id
            for t in targets
            for n in ast.walk(t)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {stmt.name}
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
    return set()


def _targets(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node else set()


def _body_reads(body, bound, out):
    """Add to ``out`` (a _Reads) the names ``body`` reads before it binds them; ``bound`` (a
    set, updated) holds the names surely bound so far. Bodies of ``if``, loops, ``with`` and
    ``try`` see what was bound before them and what they bind in order, but what they bind
    is not sure after them."""
    for stmt in body:
        sub = []  # (statements, names bound on entry)
        if isinstance(stmt, ast.For | ast.AsyncFor):
            heads = [stmt.iter]
            sub = [(stmt.body, _targets(stmt.target)), (stmt.orelse, set())]
        elif isinstance(stmt, ast.While | ast.If):
            heads = [stmt.test]
            sub = [(stmt.body, set()), (stmt.orelse, set())]
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            heads = [item.context_expr for item in stmt.items]
            sub = [(stmt.body, set().union(*(_targets(i.optional_vars) for i in stmt.items)))]
        elif isinstance(stmt, ast.Try | getattr(ast, "TryStar", ast.Try)):
            heads = [h.type for h in stmt.handlers if h.type is not None]
            sub = [(stmt.body, set()), (stmt.orelse, set()), (stmt.finalbody, set())]
            sub += [(h.body, {h.name} if h.name else set()) for h in stmt.handlers]
        else:
            heads = [stmt]
        for node in heads:
            r = _Reads()
            r.visit(node)
            out.names |= r.names - bound
            out.dynamic |= r.dynamic
        for statements, entry in sub:
            _body_reads(statements, bound | entry, out)
        if not sub:
            bound |= _sure_binds(stmt)


_BAD_SOURCE = (SyntaxError, ValueError, RecursionError, MemoryError)


def _parse(source):
    """The cell's syntax tree (IPython syntax made Python), or None if it does not parse."""
    try:
        return ast.parse(_to_python(source))
    except _BAD_SOURCE:
        return None


def cell_names(source):
    """``(binds, reads, kills)`` of a cell: names it may bind, names it reads before binding
    them (``None``: cannot tell), names it surely binds before any read."""
    return _names(_parse(source))


def _names(tree):
    if tree is None:
        return set(), None, set()
    try:
        bound, out = set(), _Reads()
        _body_reads(tree.body, bound, out)
    except _BAD_SOURCE:
        return set(), None, set()
    binds = _binds(tree.body)
    if out.dynamic:
        return binds, None, set()
    return binds, out.names, bound - out.names


def _function_reads(tree):
    """Names that the functions a cell defines at top level read from the module scope (they
    can be called after every cell: by the tests, by the judge)."""
    r = _Reads()
    for stmt in tree.body if tree is not None else []:
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and isinstance(stmt.value, ast.Lambda):
            r._function(stmt.value)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            r._function(stmt)  # nested functions are scoped inside it
        elif isinstance(stmt, ast.ClassDef):
            for node in stmt.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    r._function(node)
    return r.names


def skipped(sources, demo_sources):
    """Indices of ``sources`` (code cells, in order) that grading leaves out."""
    demos = set(demo_sources)
    if not demos:
        return set()
    trees = [_parse(s) for s in sources]
    names = [_names(t) for t in trees]
    is_demo = [normalized(s) in demos for s in sources]
    needed, everything, skip = set(), False, set()
    for i, tree in enumerate(trees):
        if not is_demo[i]:  # its functions are called after every cell (tests, the judge)
            needed |= _function_reads(tree)
    for i in reversed(range(len(sources))):
        binds, reads, kills = names[i]
        if is_demo[i] and not everything and not (binds & needed):
            skip.add(i)
            continue
        if reads is None:
            everything = True
        else:
            needed = (needed - kills) | reads
    return skip
