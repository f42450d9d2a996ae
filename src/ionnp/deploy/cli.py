"""``ionnp``: the command line of deployment.

    ionnp export models/finetune_qeff.pt -o zno.pt [--dtype float64] [--config results/config.yaml
                 --dataset results/dft/dataset.extxyz --validation results/evaluate/errors.json]
    ionnp lammps-input zno.pt [--types Zn O] [--kspace "pppm 1e-5"] [--device cuda]
    ionnp info zno.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import torch

from ionnp.deploy.export import campaign_provenance, export_model, read_metadata
from ionnp.deploy.lammps_input import input_lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ionnp", description="Deploy ionnp potentials.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="a model file as a self-contained TorchScript file")
    export.add_argument("model", help="a model file (models/*.pt)")
    export.add_argument("-o", "--output", required=True, help="the deployed file to write")
    export.add_argument("--dtype", choices=["float32", "float64"], help="default: the model's own")
    export.add_argument("--config", help="the campaign's effective config (results/config.yaml)")
    export.add_argument("--dataset", help="the training frames (a file ASE reads)")
    export.add_argument("--validation", help="the campaign's validation numbers (JSON)")
    lammps = commands.add_parser("lammps-input", help="the LAMMPS lines that run a deployed file")
    lammps.add_argument("model")
    lammps.add_argument("--types", nargs="+", help="element of each atom type (default: the model's)")
    lammps.add_argument("--coulomb-cutoff", type=float, default=10.0, help="coul/long cut-off (Å)")
    lammps.add_argument("--kspace", default="pppm 1e-5", help="kspace_style arguments")
    lammps.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    info = commands.add_parser("info", help="a deployed file's metadata (JSON)")
    info.add_argument("model")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "export":
            dataset = None
            if args.dataset:
                from ase.io import read

                dataset = read(args.dataset, index=":")
            provenance = campaign_provenance(args.config, dataset, args.validation)
            dtype = None if args.dtype is None else getattr(torch, args.dtype)
            meta = export_model(args.model, args.output, dtype=dtype, provenance=provenance)
            print(f"{args.output}: {'-'.join(meta['elements'])}, q = {meta['charge']} e, "
                  f"{meta['ensemble_size']} members, {meta['dtype']}")
        elif args.command == "lammps-input":
            print("\n".join(input_lines(args.model, types=args.types, coulomb_cutoff=args.coulomb_cutoff,
                                        kspace=args.kspace, device=args.device)))
        else:
            print(json.dumps(read_metadata(args.model), indent=1))
    except (ValueError, FileNotFoundError) as error:
        print(f"ionnp {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
