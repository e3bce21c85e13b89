"""How idle OpenMP threads (torch, faiss, llama.cpp) wait: set once, before the first of those libraries loads.

OpenMP reads these variables when its runtime loads, so they are set in the environment before any of
them (a user's own values win). Threads that spin while they wait stall everything else on a shared
machine: set only once the embedder loaded, generation beside a busy process took 30-43 s instead of
1.7-3.0 s, and index builds on 2 busy cores ran 2x slower. Threads that sleep at once pay a wake-up at
every barrier instead, hundreds per generated token in llama.cpp: about 0.4 s of a 1.3-1.6 s answer
on an idle 2-core Xeon. A short spin (GOMP_SPINCOUNT: libgomp's spin iterations before it sleeps)
keeps most of the barriers' speed and still sleeps between answers. Measured on that machine,
`python scripts/bench.py --only warm` (answer p50) and `--only contention` (answer p50 idle / beside a
busy core, `yes` / during an index build, and the build's chunks/s meanwhile), interleaved runs:
  spin 0     warm 1,278 / 1,578 ms; 885-989 / 1,172-1,278 / 1,031-1,060 ms, 35-36 chunks/s
  spin 1000  warm 953 / 1,112 ms;   712-773 / 1,474-1,657 / 1,056-1,555 ms, 29-35 chunks/s
  spin 5000  warm 899-1,034 ms;     800-806 / 1,869-2,140 /   924-1,340 ms, 27-35 chunks/s
  spin 200000 (`--quick`, one run): beside `yes` 4.1x idle, 13 chunks/s.
1000 takes most of the idle gain for the smallest loss beside a busy process.
"""

from __future__ import annotations

import os

SPIN_COUNT = 1000


def set_openmp_waiting() -> None:
    """Idle OpenMP threads spin briefly, then sleep."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("GOMP_SPINCOUNT", str(SPIN_COUNT))
