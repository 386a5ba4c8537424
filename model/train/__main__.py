"""``python -m glassworks.model.train CONFIG --workdir RUN``: the `glassworks train` command,
runnable as a module so torchrun can start it (``torchrun --nproc-per-node 8 -m glassworks.model.train``)."""

import sys

from glassworks.model.train.cli import main

sys.exit(main())
