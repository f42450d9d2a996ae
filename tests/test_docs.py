"""The docs' references stay true (README.md, config/README.md, docs/*.md).

What is checked, and how (each failure names the doc file, its line and the bad reference):

- every fenced ```python block compiles, and runs (in a fresh namespace) inside a temporary
  campaign directory: ``config/`` is the repository's, and every ``models/<name>.pt`` the block
  names is a small untrained model (``tiny_models.potential``) at the charge its name says
  (``q_eff``: 0.962 e), so an example that reads a finished campaign's model really executes;
- every fenced ```bash / ```sh / ```shell block parses (``bash -n``);
- every ``make TARGET`` (in a shell block or an inline code span) names a Makefile target;
- every dotted name ``ionnp.x.y`` anywhere in the docs resolves (``importlib`` for the longest
  importable module prefix, ``getattr`` for the rest);
- every repository path anywhere in the docs that starts with ``src/``, ``workflow/``,
  ``benchmarks/``, ``tests/``, ``config/``, ``scripts/``, ``examples/``, ``profiles/``,
  ``docs/`` or ``envs/`` exists (for a pattern such as ``tests/<stage>/`` or
  ``results/{phase}``: the folder before the first placeholder ``{ < *``); relative link and
  image targets ``[..](path#anchor)`` exist next to the doc, and so does the anchor's heading;
- every config key written in backticks as ``section.key`` or ``section.key.sub`` (the span's
  leading dotted word, ``section`` a top-level key of the schema) exists in
  ``src/ionnp/schemas/config.schema.yaml``, walking ``properties`` (and ``$ref``), with
  ``patternProperties`` and object-valued ``additionalProperties`` accepted; in
  config/README.md, every backticked key in the first column of a table under a
  ``## `section``` heading exists in that section;
- every rule named as ``rule `x``` / ``Rules `x` and `y``` or in a table column headed "rule"
  is a Snakemake rule; a table column headed "... (`dir/`)" (README's layout) names files under
  dir (a bare module name after a ``pkg/`` span: ``dir/pkg/name.py``); a column headed
  "config section" names top-level schema keys.

Not references, by rule: a dotted span whose last part is a file extension (``md.png``,
``eos.smk``: a file named after its stage). The only allow-list is ALLOWED_DOTTED_WORDS below.
"""

from __future__ import annotations

import importlib
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", REPO / "config" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SCHEMA = REPO / "src" / "ionnp" / "schemas" / "config.schema.yaml"

# Backticked words that look like `section.key` but are not config keys, each with why (none
# today: add one here rather than loosening the rules above).
ALLOWED_DOTTED_WORDS: dict[str, str] = {}

# A dotted word ending in one of these is a file name, not a config key.
FILE_EXTENSIONS = {"png", "csv", "json", "smk", "py", "yaml", "yml", "db", "extxyz", "npz", "npy",
                   "md", "pt", "log", "in", "zip", "txt", "rst", "UPF", "html", "pdf", "out"}
PATH_PREFIXES = ("src", "workflow", "benchmarks", "tests", "config", "scripts", "examples",
                 "profiles", "docs", "envs")
PATH = re.compile(r"(?<![\w./~$-])((?:%s)/[\w./{}<>*-]*)" % "|".join(PATH_PREFIXES))
DOTTED_IONNP = re.compile(r"(?<![\w./-])ionnp(?:\.[A-Za-z_]\w*)+")
CODE_SPAN = re.compile(r"`([^`]+)`")
LEADING_DOTTED = re.compile(r"[a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_-]+)+")
MAKE = re.compile(r"(?<![\w-])make\s+([A-Za-z_][\w-]*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*```(\S*)\s*$")
SHELLS = {"bash", "sh", "shell"}
Q_EFF = 0.962


@dataclass
class Block:
    doc: Path
    line: int  # line of the first line inside the fence
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def rel(doc: Path) -> str:
    return str(doc.relative_to(REPO))


def split_doc(doc: Path) -> tuple[str, list[Block]]:
    """The prose (fenced blocks blanked, so offsets keep their line numbers) and the blocks."""
    prose, blocks, block = [], [], None
    for number, line in enumerate(doc.read_text().splitlines(), start=1):
        fence = FENCE.match(line)
        if block is None and fence:
            block = Block(doc, number + 1, fence.group(1).lower(), "")
            prose.append("")
        elif block is not None and fence and not fence.group(1):
            blocks.append(block)
            block = None
            prose.append("")
        elif block is not None:
            block.text += line + "\n"
            prose.append("")
        else:
            prose.append(line)
    assert block is None, f"{rel(doc)}:{block.line}: unclosed code fence"
    return "\n".join(prose), blocks


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def all_blocks(lang: set[str]) -> list[Block]:
    return [b for doc in DOCS for b in split_doc(doc)[1] if b.lang in lang]


def failures_message(failures: list[str]) -> str:
    return f"{len(failures)} stale doc reference(s):\n" + "\n".join(failures)


# --- fenced code ---------------------------------------------------------------------------

PYTHON_BLOCKS = all_blocks({"python", "py"})
SHELL_BLOCKS = all_blocks(SHELLS)


def test_the_docs_have_examples():
    assert PYTHON_BLOCKS and SHELL_BLOCKS


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_python_block_runs(block, tmp_path, monkeypatch):
    from tiny_models import potential

    code = compile(block.text, block.where, "exec")  # a SyntaxError names the doc and line
    (tmp_path / "config").symlink_to(REPO / "config")
    for name in sorted(set(re.findall(r"models/([\w.-]+)\.pt", block.text))):
        charge = re.search(r"_q(eff|[\d.]+)$", name)
        q = Q_EFF if charge is None or charge.group(1) == "eff" else float(charge.group(1))
        (tmp_path / "models").mkdir(exist_ok=True)
        potential(q).save(tmp_path / "models" / f"{name}.pt")
    monkeypatch.chdir(tmp_path)
    try:
        exec(code, {"__name__": "__doc_example__"})
    except Exception as error:  # noqa: BLE001 - reported with the block's place
        pytest.fail(f"{block.where}: the example raises {type(error).__name__}: {error}")


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.where)
def test_shell_block_parses(block):
    result = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
    assert result.returncode == 0, f"{block.where}: bash -n: {result.stderr.strip()}"


def makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return {t for line in re.findall(r"^([\w .-]+):(?!=)", text, re.M) for t in line.split()}


def test_make_targets_exist():
    targets, failures = makefile_targets(), []
    for doc in DOCS:
        prose, blocks = split_doc(doc)
        places = [(line_of(prose, m.start()), m.group(1)) for m in CODE_SPAN.finditer(prose)]
        places += [(b.line + i, line) for b in blocks if b.lang in SHELLS
                   for i, line in enumerate(b.text.splitlines())]
        for line, text in places:
            for target in MAKE.findall(text):
                if target not in targets:
                    failures.append(f"{rel(doc)}:{line}: `make {target}`: no such Makefile target")
    assert not failures, failures_message(failures)


# --- names, paths, config keys -------------------------------------------------------------


def resolve(name: str) -> str | None:
    """None if ``name`` (ionnp.a.b.c) is a module or an attribute of one, else why not."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue  # this module does not exist: try its parent
            return f"importing {module_name} fails: {error}"
        for j, attr in enumerate(parts[i:], start=i):
            if not hasattr(obj, attr):
                return f"{'.'.join(parts[:j])} has no attribute {attr!r}"
            obj = getattr(obj, attr)
        return None
    return "no such module"


def test_dotted_ionnp_names_resolve():
    failures = []
    for doc in DOCS:
        text = doc.read_text()
        for match in DOTTED_IONNP.finditer(text):
            why = resolve(match.group(0))
            if why:
                failures.append(f"{rel(doc)}:{line_of(text, match.start())}: {match.group(0)}: {why}")
    assert not failures, failures_message(failures)


def heading_anchors(doc: Path) -> set[str]:
    """GitHub's anchors of a doc's headings: lower case, punctuation dropped, spaces to '-'."""
    prose, _ = split_doc(doc)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#{1,6}\s+(.+)$", prose, re.M)}


def path_exists(path: str) -> bool:
    placeholder = re.search(r"[{<*]", path)
    if placeholder:
        path = path[: placeholder.start()].rsplit("/", 1)[0]
    return (REPO / path).exists()


def test_repository_paths_exist():
    failures = []
    for doc in DOCS:
        text = doc.read_text()
        for match in PATH.finditer(text):
            path = match.group(1).rstrip(".,;:")
            if not path_exists(path):
                failures.append(f"{rel(doc)}:{line_of(text, match.start())}: {path}: no such file")
        for match in LINK.finditer(text):
            target, _, anchor = match.group(1).partition("#")
            if "://" in match.group(1):
                continue
            where = f"{rel(doc)}:{line_of(text, match.start())}: link {match.group(1)}"
            path = doc.parent / target if target else doc
            if not path.exists():
                failures.append(f"{where}: no such file next to {rel(doc)}")
            elif anchor and path.suffix == ".md" and anchor not in heading_anchors(path):
                failures.append(f"{where}: no such heading in {rel(path.resolve())}")
    assert not failures, failures_message(failures)


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def schema_child(schema: dict, node: dict, key: str) -> dict | None:
    """The schema of ``key`` inside ``node`` (an object schema), or None if it has none."""
    while "$ref" in node:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**resolve_ref(schema, node["$ref"]), **rest}
    if key in node.get("properties", {}):
        return node["properties"][key]
    for pattern, child in node.get("patternProperties", {}).items():
        if re.search(pattern, key):
            return child
    if isinstance(node.get("additionalProperties"), dict):
        return node["additionalProperties"]
    return None


def resolve_ref(schema: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = schema
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def key_exists(schema: dict, dotted: str) -> bool:
    node = schema
    for key in dotted.split("."):
        node = schema_child(schema, node, key)
        if node is None:
            return False
    return True


def test_config_keys_exist_in_the_schema():
    schema, failures = load_schema(), []
    sections = set(schema["properties"])
    for doc in DOCS:
        prose, _ = split_doc(doc)
        for span in CODE_SPAN.finditer(prose):
            word = LEADING_DOTTED.match(span.group(1).strip())
            if not word:
                continue
            dotted = word.group(0)
            first, last = dotted.split(".")[0], dotted.split(".")[-1]
            if first not in sections or last in FILE_EXTENSIONS or dotted in ALLOWED_DOTTED_WORDS:
                continue
            if not key_exists(schema, dotted):
                failures.append(f"{rel(doc)}:{line_of(prose, span.start())}: `{dotted}`: "
                                f"no such key in {SCHEMA.relative_to(REPO)}")
    assert not failures, failures_message(failures)


def test_config_readme_tables_name_schema_keys():
    """config/README.md: each table row's backticked keys exist under its `## `section`` heading."""
    schema, failures = load_schema(), []
    doc = REPO / "config" / "README.md"
    prose, _ = split_doc(doc)
    section = None
    for number, line in enumerate(prose.splitlines(), start=1):
        heading = re.match(r"^##\s+`([\w.]+)`", line)
        if line.startswith("## "):
            section = heading.group(1) if heading else None
            continue
        row = re.match(r"^\|([^|]*)\|", line)
        if section is None or not row or set(row.group(1).strip()) <= set("-: "):
            continue
        for key in re.findall(r"`([^`]+)`", row.group(1)):
            if not key_exists(schema, f"{section}.{key}"):
                failures.append(f"{rel(doc)}:{number}: `{key}` under `{section}`: "
                                f"no such key in {SCHEMA.relative_to(REPO)}")
    assert not failures, failures_message(failures)


def snakemake_rules() -> set[str]:
    files = [REPO / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]
    return {name for f in files for name in re.findall(r"^(?:rule|checkpoint)\s+(\w+)", f.read_text(), re.M)}


def table_columns(prose: str):
    """(line, header cell, body cell) of every markdown table in ``prose``."""
    header = None
    for number, line in enumerate(prose.splitlines(), start=1):
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not all(set(c) <= set("-: ") for c in cells):
            yield from ((number, h, c) for h, c in zip(header, cells))


def test_rules_and_layout_tables_name_what_exists():
    """`rule x` / `Rules x and y` in prose and table columns headed "rule" name Snakemake rules;
    a column headed "... (`dir/`)" names files under dir (a bare module name after a `pkg/`
    span: dir/pkg/name.py); a column headed "config section" names top-level schema keys."""
    rules, sections, failures = snakemake_rules(), set(load_schema()["properties"]), []
    for doc in DOCS:
        prose, _ = split_doc(doc)
        for match in re.finditer(r"\b[Rr]ules?((?:\s*(?:,|and)?\s*`\w+`)+)", prose):
            for name in re.findall(r"`(\w+)`", match.group(1)):
                if name not in rules:
                    failures.append(f"{rel(doc)}:{line_of(prose, match.start())}: rule `{name}`: no such rule")
        for number, header, cell in table_columns(prose):
            spans = re.findall(r"`([^`]+)`", cell)
            folder = re.search(r"\(`([\w/]+/)`\)", header)
            if header == "rule":
                failures += [f"{rel(doc)}:{number}: rule `{s}`: no such rule" for s in spans if s not in rules]
            elif header == "config section":
                failures += [f"{rel(doc)}:{number}: config section `{s}`: not in the schema"
                             for s in spans if s not in sections]
            elif folder:
                package = None
                for span in spans:
                    if span.endswith("/") or "." in span:
                        path, package = folder.group(1) + span, span if span.endswith("/") else package
                    elif package and re.fullmatch(r"\w+", span):
                        path = f"{folder.group(1)}{package}{span}.py"
                    else:
                        continue
                    if not (REPO / path).exists():
                        failures.append(f"{rel(doc)}:{number}: `{span}` ({path}): no such file")
    assert not failures, failures_message(failures)


def test_every_method_section_names_its_code():
    """docs/method.md: each numbered stage section (and the conventions, acceptance and
    reproducibility sections) says right under its heading where its code is ("Code: ...")."""
    lines = (REPO / "docs" / "method.md").read_text().splitlines()
    missing = [line for k, line in enumerate(lines) if line.startswith("## ")
               and not next((n for n in lines[k + 1:] if n.strip()), "").startswith("Code: ")]
    assert not missing, f"docs/method.md sections without a 'Code:' line: {missing}"
