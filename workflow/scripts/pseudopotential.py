"""Rule pseudopotential: copy the user's UPF file, or generate one with ld1.x."""

import shutil

import _ionnp_path  # noqa: F401

from ionnp.dft.pseudo import generate
from ionnp.io import atomic_path
from ionnp.logs import log_to_file

log = log_to_file(snakemake.log[0])
element, source = snakemake.wildcards.element, snakemake.params.source
if source is None:
    report = generate(element, snakemake.output.upf)
    log.info("%s generated with ld1.x; transferability test:\n%s", element, report)
else:
    with atomic_path(snakemake.output.upf) as tmp:
        shutil.copyfile(source, tmp)
    log.info("%s copied from %s", element, source)
