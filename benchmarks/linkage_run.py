"""One benchmark run in its own process: ``python -m benchmarks.linkage_run TOOL SPEC.json OUT.json``.

The parent (benchmarks.linkage) watches this process's memory from outside; this process times
the work itself (after its imports), scores what the tool found against the truth, and writes the
figures as JSON.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from benchmarks.linkage_data import read_clusters, read_truth
from benchmarks.linkage_tools import RUNNERS
from kinfold.cli import PLAIN_COMMAND_MODULES

IMPORTS = {
    # what `kinfold`'s command line loads whenever it starts (each plain command's module)
    "kinfold": ("kinfold.cli", "kinfold.linkage", *PLAIN_COMMAND_MODULES),
    "splink": ("splink", "splink.comparison_library", "duckdb", "pandas"),
    "recordlinkage": ("recordlinkage", "pandas", "jellyfish"),
    "anonlink": ("anonlink", "anonlink.candidate_generation", "bitarray"),
}


def main() -> int:
    tool, spec_path, out_path = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    dataset = json.loads(spec_path.read_text())
    workdir = out_path.parent / f"{dataset['name']}-{tool}"
    workdir.mkdir(parents=True, exist_ok=True)
    runner = RUNNERS[tool]
    for module in IMPORTS[tool]:  # every tool's libraries are loaded before the clock starts
        importlib.import_module(module)
    started = time.perf_counter()
    outcome = runner(dataset, workdir)
    seconds = time.perf_counter() - started
    compared = outcome.count_later() if outcome.count_later else outcome.compared
    from kinfold.linkage import cluster_accuracy, pair_accuracy

    if dataset["kind"] == "link":
        accuracy = pair_accuracy(outcome.pairs, read_truth(Path(dataset["truth"])))
    else:
        truth = read_clusters(Path(dataset["truth"]), "rec_id", "person_id")
        found = {r: outcome.clusters.get(r, f"~{r}") for r in truth}
        accuracy = cluster_accuracy(found, truth)
    result = {
        "tool": tool,
        "dataset": dataset["name"],
        "precision": accuracy.precision,
        "recall": accuracy.recall,
        "f1": accuracy.f1,
        "true_positives": accuracy.true_positives,
        "false_positives": accuracy.false_positives,
        "false_negatives": accuracy.false_negatives,
        "pairs_compared": compared,
        "seconds": seconds,
        "note": outcome.note,
    }
    out_path.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
