"""Put the workflow's own ``src/`` first on ``sys.path``.

Rules then run the library that sits next to the Snakefile, also inside per-rule conda
environments (``envs/``), which hold ionnp's dependencies but not ionnp itself.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
