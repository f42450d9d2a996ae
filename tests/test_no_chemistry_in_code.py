"""No chemistry in code: the workflow and the library name no element of ZnO and none of its
phases. Elements, charges, phases and their roles come from the config; names may appear in
docstrings and comments (as examples), in the schema's defaults and in data files (the ld1.x
recipes, the plan's reference costs), never in an identifier or a string the code uses."""

import io
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Names that are ZnO's: its elements and its phases (the default campaign's).
NAMES = re.compile(r"(?<![a-z])(zno|zn|wurtzite|zincblende|zinc_blende|rocksalt|hmgo|cscl)(?![a-z])", re.IGNORECASE)
#: Strings that are one element of ZnO on their own.
ELEMENTS = {"Zn", "O"}
#: The exceptions, each with its reason: {(file, token): why}.
ALLOWED = {
    ("src/ionnp/charges/polar.py", '"zincblende"'): "ASE's name of a crystal structure on an fcc lattice",
    ("src/ionnp/charges/polar.py", '"rocksalt"'): "ASE's name of a crystal structure on an fcc lattice",
}
CODE = sorted([*REPO.glob("src/ionnp/**/*.py"), *REPO.glob("workflow/**/*.py"), *REPO.glob("workflow/**/*.smk"),
               REPO / "Snakefile"])


def code_tokens(path: Path):
    """(line, token text) of every identifier and non-docstring string of a Python or Snakemake file."""
    previous = tokenize.NEWLINE
    for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if token.type == tokenize.NAME:
            yield token.start[0], token.string
        elif token.type == tokenize.STRING and previous not in (tokenize.NEWLINE, tokenize.INDENT,
                                                               tokenize.DEDENT, tokenize.NL):
            yield token.start[0], token.string  # a docstring is a string statement of its own
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            previous = token.type


def test_the_scan_finds_what_it_looks_for(tmp_path):
    """The check itself: a name in code is found, the same name in a docstring or comment is not."""
    sample = tmp_path / "sample.py"
    sample.write_text('"""A wurtzite example."""\n# rocksalt\nPHASE = "rocksalt"\nwurtzite_v0 = 1\n'
                      'def f():\n    """Zn first."""\n    return {"O": -2}\n')
    found = [text for _, text in code_tokens(sample) if NAMES.search(text) or text.strip("'\"") in ELEMENTS]
    assert found == ['"rocksalt"', "wurtzite_v0", '"O"']


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(REPO)))
def test_no_zno_name_in_code(path):
    relative = str(path.relative_to(REPO))
    hits = [f"{relative}:{line}: {text}" for line, text in code_tokens(path)
            if (NAMES.search(text) or text.strip("'\"") in ELEMENTS) and (relative, text) not in ALLOWED]
    assert not hits, "chemistry in code (give it in the config):\n" + "\n".join(hits)
