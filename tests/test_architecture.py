"""The package's structure: its layers import only downwards, with no
circle; no mixin class; the model's private methods stay inside
`keras_vae/models/` (everything else uses its documented API); and
`import keras_vae` leaves the command line unimported."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "keras_vae"

#: The layers of the package, from the bottom up: a module imports from its
#: own layer or the ones below, never from a layer above.
LAYERS = [
    {"version", "program_start", "utils"},
    {"datasets"},
    {"backend"},
    {"likelihoods", "layers", "priors", "samplers"},
    {"evaluation"},
    {"plotting"},
    {"callbacks"},
    {"models"},
    {"builders"},
    {"export", "saving"},
    {"cli"},
    {"__init__", "__main__"},
]


def modules():
    """`{dotted name: parsed module}` of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = ast.parse(path.read_text(), str(path))
    return found


def layer_of(name):
    """The index in `LAYERS` of a dotted module name of the package."""
    parts = name.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{name} is in no layer of LAYERS")


def imports(tree, package_names):
    """The package's modules that `tree` imports (at any depth: function
    bodies too), as dotted names found in `package_names`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in package_names else node.module)
    return {name for name in found if name in package_names}


def test_every_import_goes_down_the_layers():
    found = modules()
    upward = []
    for name, tree in found.items():
        for target in imports(tree, found):
            if target != "keras_vae" and layer_of(target) > layer_of(name):
                upward.append(f"{name} -> {target}")
    assert upward == []


def test_the_import_graph_has_no_circle():
    found = modules()
    graph = {
        name: {t for t in imports(tree, found) if t != "keras_vae"}
        for name, tree in found.items()
    }
    # A package's face (its __init__) only hands names on: the circle that
    # matters is between modules with code of their own.
    faces = {
        name
        for name in found
        if (PACKAGE.parent / name.replace(".", "/")).is_dir()
    }
    state = {}

    def visit(name, path):
        state[name] = "open"
        for target in sorted(graph[name] - faces):
            if state.get(target) == "open":
                raise AssertionError(
                    "import circle: " + " -> ".join(path + [target])
                )
            if target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in sorted(set(graph) - faces):
        if name not in state:
            visit(name, [name])


def test_no_mixin_classes():
    mixins = [
        f"{name}.{node.name}"
        for name, tree in modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name.endswith("Mixin")
    ]
    assert mixins == []


def model_private_names(found):
    """The names starting with `_` (not dunder) that the classes of
    `keras_vae.models` define."""
    names = set()
    for name, tree in found.items():
        if not name.startswith("keras_vae.models"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(
                        item, (ast.FunctionDef, ast.AsyncFunctionDef)
                    ):
                        if item.name.startswith(
                            "_"
                        ) and not item.name.startswith("__"):
                            names.add(item.name)
    return names


def test_no_module_outside_models_uses_a_private_model_method():
    found = modules()
    private = model_private_names(found)
    assert "_check_submodels" in private  # The walk finds them.
    uses = []
    for name, tree in found.items():
        if name.startswith("keras_vae.models"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in private:
                uses.append(f"{name}:{node.lineno} .{node.attr}")
    assert uses == []


def test_the_check_would_see_a_private_call():
    tree = ast.parse("def f(vae):\n    return vae._check_submodels(1, 2)")
    attributes = [
        node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
    ]
    assert "_check_submodels" in attributes


def test_importing_the_package_leaves_the_command_line_out():
    code = (
        "import sys, keras_vae; "
        "print(sorted(m for m in sys.modules if m.startswith('keras_vae.cli')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
