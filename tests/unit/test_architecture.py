"""The shape of the code, read from the source with ``ast`` (nothing is imported).

- no import cycle between the modules of ``ptce_aap``, counting the imports inside functions too;
- no module over 500 lines;
- ``ptce_aap.domain`` imports neither Flask nor SQLAlchemy nor the app's extensions and models;
- no service imports a blueprint package;
- one writer per state: ``Dossier.status``, ``Call.status``, ``Attachment.status``, ``Assignment.status`` are
  assigned by their ``set_*_status`` only (no ``sa.update(…).values(status=…)`` either); ``Review.submitted_at``
  by ``submit_review`` and ``reopen_review`` only;
- services and ``domain`` never commit; only ``tokens`` uses itsdangerous; mail links are not built from
  hard-coded paths; views catch a ``DomainError`` only to show a form again (the list says where and why);
- a function-local import says why (a heavy or optional dependency) on its line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ptce_aap"
MAX_LINES = 500
BLUEPRINTS = ("auth", "public", "applicants", "reviewers", "admin", "api")

# Modules another change is fixing at the same time: expected to fail until it is merged.
KNOWN_TOO_LONG: dict[str, str] = {}
KNOWN_SERVICE_TO_BLUEPRINT: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imports(module: str):
    """``(base, names)`` for every import anywhere in the module (top level, functions, classes), made
    absolute: ``import a.b`` → ``("a.b", [])``, ``from .x import y`` → ``("ptce_aap.<package>.x", ["y"])``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if _is_package(module) else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            yield base, [alias.name for alias in node.names]


def _imported_names(module: str) -> set[str]:
    return {f"{base}.{name}" if name else base for base, names in _imports(module) for name in names or [""]}


def _resolve(name: str) -> str | None:
    """The module of ``ptce_aap`` a dotted name lives in (``ptce_aap.jobs.schedule`` → ``ptce_aap.jobs``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    """module → the modules of ``ptce_aap`` it imports. ``from ptce_aap.x import y`` is an edge to
    ``ptce_aap.x.y`` when that is a module, else to ``ptce_aap.x``."""
    graph = {}
    for module in MODULES:
        targets = set()
        for base, names in _imports(module):
            if base != "ptce_aap" and not base.startswith("ptce_aap."):
                continue
            for name in names or [None]:
                full = f"{base}.{name}" if name else base
                targets.add(full if full in MODULES else _resolve(base))
        graph[module] = targets - {module, None}
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path ``a → b → … → a``) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan; the graph is small, recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_path_within(graph, set(c)) for c in components]


def _path_within(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the first module of the component, staying inside it."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(graph[node] & component):
            if succ == start:
                return [*paths[node], start]
            if succ not in paths:
                paths[succ] = [*paths[node], succ]
                queue.append(succ)
    return sorted(component)


def _param(module: str, known: dict[str, str]):
    if module in known:
        return pytest.param(module, marks=pytest.mark.xfail(strict=False, reason=known[module]))
    return module


# --- The checker checks what it should --------------------------------------------------------------

def test_the_graph_sees_imports_inside_functions_and_finds_a_cycle():
    assert "ptce_aap.jobs" in GRAPH["ptce_aap.tasks"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_factory_imports_the_app_inside_its_function_and_the_graph_counts_it():
    assert {"ptce_aap.tasks", "ptce_aap.jobs", "ptce_aap.cli"} <= GRAPH["ptce_aap"]


# --- The rules ------------------------------------------------------------------------------------------

def test_no_import_cycle_between_modules():
    cycles = _cycles(GRAPH)
    assert cycles == [], "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


@pytest.mark.parametrize("module", [_param(m, KNOWN_TOO_LONG) for m in MODULES])
def test_module_is_at_most_500_lines(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(PACKAGE.parent)}: {lines} lines"


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("ptce_aap.domain")])
def test_domain_imports_neither_flask_nor_sqlalchemy_nor_the_app(module):
    forbidden = [name for name in _imported_names(module)
                 if name.split(".")[0] in {"flask", "flask_sqlalchemy", "sqlalchemy", "flask_login"}
                 or name.startswith(("ptce_aap.extensions", "ptce_aap.models"))]
    assert forbidden == []


@pytest.mark.parametrize("module", [_param(m, KNOWN_SERVICE_TO_BLUEPRINT) for m in MODULES
                                    if m.startswith("ptce_aap.services")])
def test_service_imports_no_blueprint(module):
    blueprints = tuple(f"ptce_aap.{name}" for name in BLUEPRINTS)
    imported = sorted(t for t in GRAPH[module] if t in blueprints or t.startswith(tuple(b + "." for b in blueprints)))
    assert imported == []


def test_attachment_status_is_assigned_only_by_its_write_path():
    """``<something attachment>.status = …`` appears in ``set_attachment_status`` only."""
    writers = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            for node in ast.walk(func):
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
                for target in targets:
                    if (isinstance(target, ast.Attribute) and target.attr == "status"
                            and isinstance(target.value, ast.Name) and "attachment" in target.value.id):
                        writers.append(f"{module}.{func.name}")
    assert writers == ["ptce_aap.services.attachments.set_attachment_status"]


# --- One writer per state, commits in the caller, one place per concern (issue 7, "Done when") ----------

TREES: dict[str, ast.Module] = {module: ast.parse(path.read_text(encoding="utf-8")) for module, path in MODULES.items()}


def _owned_nodes(tree: ast.AST):
    """``(node, owner)`` for every node: ``owner`` is the innermost function around it, or ``<module>``."""
    def visit(node: ast.AST, owner: str):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else owner
            yield child, name
            yield from visit(child, name)

    yield from visit(tree, "<module>")


def _where(matches, modules=None) -> list[str]:
    """``module.function`` of every node for which ``matches(node)`` holds."""
    return sorted({f"{module}.{owner}" for module, tree in TREES.items() if modules is None or module in modules
                   for node, owner in _owned_nodes(tree) if matches(node)})


def _callee(node: ast.AST) -> str | None:
    """``f`` for ``f(…)`` and ``x.y.f(…)``."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _subject(expr: ast.AST) -> str:
    """What an expression is called: ``dossier`` for ``dossier``, ``attachment.dossier``, ``self.dossier``."""
    if isinstance(expr, ast.Name):
        return expr.id.lower()
    if isinstance(expr, ast.Attribute):
        return expr.attr.lower()
    return ""


def _mentions(expr: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(expr))


def _status_assignment(node: ast.AST, names: set[str], suffix: str, enum: str) -> bool:
    """``<x>.status = …`` (or ``setattr(x, "status", …)``) where ``x`` is named like the model (``d``,
    ``dossier``, ``attachment.dossier``…) or the value is one of the model's status enum."""
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
    elif _callee(node) == "setattr" and len(node.args) == 3:
        key = node.args[1]
        if not (isinstance(key, ast.Constant) and key.value == "status"):
            return False
        targets, value = [ast.Attribute(value=node.args[0], attr="status")], node.args[2]
    else:
        return False
    for target in targets:
        if isinstance(target, ast.Attribute) and target.attr == "status":
            subject = _subject(target.value)
            if subject in names or subject.endswith(suffix) or (value is not None and _mentions(value, enum)):
                return True
    return False


def _status_key(arg: ast.AST, model: str) -> bool:
    """A ``values()``/``update()`` argument that sets the status: ``{"status": …}``, ``{Model.status: …}``."""
    return isinstance(arg, ast.Dict) and any(
        (isinstance(k, ast.Constant) and k.value == "status")
        or (isinstance(k, ast.Attribute) and k.attr == "status" and _subject(k.value) == model.lower())
        for k in arg.keys)


def _bulk_status_update(node: ast.AST, model: str) -> bool:
    """``sa.update(Model)….values(status=…)`` or ``query(Model)….update({"status": …})``."""
    if _callee(node) not in {"values", "update"} or not isinstance(node.func, ast.Attribute):
        return False
    sets_status = any(k.arg == "status" for k in node.keywords) or any(_status_key(a, model) for a in node.args)
    on_model = any(_callee(n) in {"update", "query"} and n.args and isinstance(n.args[0], ast.Name)
                   and n.args[0].id == model for n in ast.walk(node.func.value))
    return sets_status and on_model


def _status_writers(model: str, names: set[str], suffix: str, enum: str) -> list[str]:
    return _where(lambda node: _status_assignment(node, names, suffix, enum) or _bulk_status_update(node, model))


def test_dossier_status_is_assigned_only_by_its_write_path():
    assert _status_writers("Dossier", {"d", "dossier"}, "dossier", "DossierStatus") == [
        "ptce_aap.services.dossiers.set_dossier_status"]


def test_a_new_dossier_starts_without_status_then_goes_through_the_write_path():
    """``Dossier(status=…)`` only with ``None``: ``start_dossier`` then calls ``set_dossier_status(…, DRAFT)``."""
    def sets_a_status(node):
        return _callee(node) == "Dossier" and any(
            k.arg == "status" and not (isinstance(k.value, ast.Constant) and k.value.value is None)
            for k in node.keywords)

    assert _where(sets_a_status) == []


def test_call_status_is_assigned_only_by_its_write_path():
    assert _status_writers("Call", {"c", "call"}, "call", "CallStatus") == [
        "ptce_aap.services.calls.set_call_status"]


def test_assignment_status_is_assigned_only_by_its_write_path():
    """Declines (``services.assignments``) and the review's progress (``services.reviews``) go through
    ``set_assignment_status`` and its ``ASSIGNMENT_TRANSITIONS``."""
    assert _status_writers("Assignment", {"a", "assignment"}, "assignment", "AssignmentStatus") == [
        "ptce_aap.services.assignments.set_assignment_status"]


def _attribute_writers(attribute: str, names: set[str], suffix: str) -> list[str]:
    """Every ``<x>.<attribute> = …`` (or ``setattr``) where ``x`` is named like the model."""
    def matches(node):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif _callee(node) == "setattr" and len(node.args) == 3 and isinstance(node.args[1], ast.Constant) \
                and node.args[1].value == attribute:
            targets = [ast.Attribute(value=node.args[0], attr=attribute)]
        else:
            return False
        return any(isinstance(t, ast.Attribute) and t.attr == attribute
                   and (_subject(t.value) in names or _subject(t.value).endswith(suffix)) for t in targets)

    return _where(matches)


def test_review_submission_is_written_only_by_submit_and_reopen():
    """``Review.submitted_at`` (the lock on a review) moves with its assignment's status, in two places."""
    assert _attribute_writers("submitted_at", {"r", "review"}, "review") == [
        "ptce_aap.services.reviews.reopen_review", "ptce_aap.services.reviews.submit_review"]


def test_the_status_writer_checks_see_what_they_should():
    def writers(source: str, *args) -> bool:
        return any(_status_assignment(n, *args) or _bulk_status_update(n, "Dossier")
                   for n in ast.walk(ast.parse(source)))

    args = ({"d", "dossier"}, "dossier", "DossierStatus")
    for source in ("d.status = x", "self.dossier.status = x", "row.status = DossierStatus.DRAFT",
                   "setattr(dossier, 'status', x)", "db.session.execute(sa.update(Dossier).where(w).values(status=x))",
                   "sa.update(Dossier).values({Dossier.status: x})", "db.session.query(Dossier).update({'status': x})"):
        assert writers(source, *args), source
    for source in ("run.status = JobStatus.DONE", "attachment.status = to", "sa.update(OutboxEntry).values(status=x)",
                   "d.version = 2"):
        assert not writers(source, *args), source


SERVICES_AND_DOMAIN = {m for m in MODULES if m.startswith(("ptce_aap.services", "ptce_aap.domain"))}


def test_services_and_domain_never_commit():
    """The request, the task wrapper or the CLI command commits, once; a service only flushes."""
    assert _where(lambda node: _callee(node) == "commit", SERVICES_AND_DOMAIN) == []


def test_itsdangerous_is_used_by_the_tokens_module_only():
    users = [m for m in MODULES if any(base.split(".")[0] == "itsdangerous" for base, _names in _imports(m))]
    assert users == ["ptce_aap.tokens"]


def _is_literal_path(arg: ast.AST) -> bool:
    if isinstance(arg, ast.Constant | ast.JoinedStr):
        return True
    return isinstance(arg, ast.BinOp) and (_is_literal_path(arg.left) or _is_literal_path(arg.right))


def test_no_mail_link_from_a_hard_coded_path():
    """Links that leave the app are ``urls.external_url(endpoint, …)``, never ``public_url("/porteur/…")``."""
    def hard_coded(node):
        return _callee(node) == "public_url" and bool(node.args) and _is_literal_path(node.args[0])

    assert _where(hard_coded) == []
    assert hard_coded(ast.parse('public_url(f"/porteur/dossiers/{d.id}")').body[0].value)


def _domain_error_classes() -> set[str]:
    """``DomainError`` and its subclasses defined in ``ptce_aap`` (by name)."""
    classes = {"DomainError"}
    defined = [node for tree in TREES.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    grew = True
    while grew:
        grew = False
        for node in defined:
            if node.name not in classes and any(_subject(base) in {c.lower() for c in classes} for base in node.bases):
                classes.add(node.name)
                grew = True
    return classes


BLUEPRINT_MODULES = {m for m in MODULES if m.split(".")[1:2] and m.split(".")[1] in BLUEPRINTS}

# ``web.domain_errors`` / ``web.domain_error_response`` turn a ``DomainError`` into a flash or a JSON error;
# a view catches one itself only to show the form (or page) again with the message beside what was typed.
ALLOWED_DOMAIN_ERROR_CATCHES = {
    "ptce_aap.admin.simulator.save_scenario": "the simulator's result again, the name typed and the error beside it",
    "ptce_aap.admin.scenarios.apply_scenario": "the confirmation page again, the motivations typed kept beside the "
                                               "error",
    "ptce_aap.admin.routes.override_verdict": "the dossier page again, the reason typed and the error beside it",
    "ptce_aap.admin.routes.send_message": "the dossier page again, the message typed kept, the error beside it",
    "ptce_aap.admin.routes.request_complements": "the dossier page again, the request typed kept, errors beside "
                                                 "their fields",
    "ptce_aap.applicants.messages.answer_request": "the answer page again, the answer typed kept, the reason shown",
    "ptce_aap.applicants.messages.reply_to_message": "the reply form again, the text typed kept beside the reason",
    "ptce_aap.admin.grid.grid": "the grid page again, the new criterion typed and the error beside its field",
    "ptce_aap.admin.grid.grid_edit": "the grid page again, the criterion's edits typed and the error beside them",
    "ptce_aap.admin.calls._saved": "the call form again (new, settings, copy, deadline), the error beside its field",
    "ptce_aap.applicants.coeditors.invite_coeditor": "the invitation form again, the address still typed in it",
    "ptce_aap.applicants.coeditors.accept_invitation": "the invitation page again, saying what is wrong",
    "ptce_aap.applicants.dashboard.new_dossier": "the new dossier form again, the error beside the pole name",
    "ptce_aap.applicants.dossier.edit_section": "the section form again (or autosave's JSON), what was typed kept",
    "ptce_aap.applicants.attachments.upload_through_app": "the documents page again, the error beside the type",
    "ptce_aap.applicants.attachments.delete_attachment": "back to the document type's anchor, known after loading",
    "ptce_aap.applicants.submission.submit": "a double click (AlreadySubmitted): to the dossier, not the form",
    "ptce_aap.applicants.dossier._merge_or_conflict": "the merged section again, the error beside its field",
    "ptce_aap.auth.account.change_password": "the password form again, the error beside its field",
    "ptce_aap.auth.routes.verify_email": "the confirm-with-password form again (LoginError: not the password)",
    "ptce_aap.auth.routes.login": "the login form again (LoginError: wrong password, unverified address)",
    "ptce_aap.auth.routes.register": "the registration form again, the error beside its field",
    "ptce_aap.auth.routes.reset_password": "the new password form again, the error beside the password",
    "ptce_aap.auth.invitation.reviewer_invitation": "the welcome form again, the error beside the password",
    "ptce_aap.reviewers.regional.regional_opinion": "the avis form again, the motivation typed kept beside the "
                                                   "error (an avis changed meanwhile, or locked)",
    "ptce_aap.admin.pool.pool_invite": "the invitation form again, everything typed kept, the error beside its field",
    "ptce_aap.admin.pool.pool_member": "the pool member form again, what was typed kept, the error beside its field",
    "ptce_aap.admin.conflicts.conflicts": "the conflicts page again, the conflict typed kept, the error beside it",
    "ptce_aap.admin.api_tokens.api_tokens": "the new token form again, what was typed kept, each error beside its "
                                            "field",
    "ptce_aap.reviewers.conflicts.conflicts": "the reviewer's conflicts page again, the declaration typed kept",
    "ptce_aap.reviewers.review.review": "the scoring form again (or autosave's JSON), what was typed kept",
    "ptce_aap.reviewers.review._merge_or_conflict": "the merged scoring form again, the error beside its field",
    "ptce_aap.admin.scores.reopen_review": "the reopen form again, the reason typed and the error beside it",
    "ptce_aap.admin.regional.regional_deadline": "the deadline form again, the date typed and the error beside it",
    "ptce_aap.admin.decisions.decide": "the decision form again, everything typed kept, each error beside its field",
    "ptce_aap.admin.sessions.committee_sessions": "the new session form again, the date and place typed kept",
    "ptce_aap.admin.sessions.edit_committee_session": "the session form again, the date and place typed kept",
    "ptce_aap.admin.sessions.committee_attendance": "the attendance form again, the names typed kept beside errors",
}


def test_views_leave_domain_errors_to_the_one_place_except_to_show_a_form_again():
    classes = {c.lower() for c in _domain_error_classes()}
    assert {"domainerror", "attachmentrefused"} <= classes

    def catches(node):
        if not isinstance(node, ast.ExceptHandler) or node.type is None:
            return False
        types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        return any(_subject(t) in classes for t in types)

    unexpected = [w for w in _where(catches, BLUEPRINT_MODULES) if w not in ALLOWED_DOMAIN_ERROR_CATCHES]
    assert unexpected == []


# The app factory imports the app's modules inside ``create_app`` (its docstring says why: importing one
# module must not load the whole web app); anywhere else a function-local import says why on its line.
LOCAL_IMPORTS_EXPLAINED_ELSEWHERE = {"ptce_aap.create_app"}


def test_function_local_imports_say_why():
    unexplained = []
    for module, tree in TREES.items():
        lines = MODULES[module].read_text(encoding="utf-8").splitlines()
        for node, owner in _owned_nodes(tree):
            if (isinstance(node, ast.Import | ast.ImportFrom) and owner != "<module>"
                    and f"{module}.{owner}" not in LOCAL_IMPORTS_EXPLAINED_ELSEWHERE
                    and "#" not in lines[node.end_lineno - 1]):
                unexplained.append(f"{module}:{node.lineno}")
    assert unexplained == []
