"""The CUDA check: what the machine has, the tests marked cuda, sampler and training speed.

Run by `bash benchmarks/gpu_check.sh run OUT_DIR` (which first installs the wheels carried in
.whl/); writes one JSON with the device's name, each figure and each test's outcome:

- found: Python, torch and its CUDA, the GPU, and which of qaaan's imports are missing;
- tests: `pytest -m cuda` (each torch sampler's moments on the GPU against the exact ones, a
  training run and its resume on the GPU), each test's outcome;
- samplers: `gibbs` and `sqa` (torch kernels) on chimera(2048) with 10,000 chains, spin updates
  per nanosecond (sqa: counted per Trotter slice); target at least 100 each;
- training: seconds per iteration of the speed contenders of `train_step.py --table speed` on
  the GPU (mnist-10k: no data directory needed), and the ratio to today's settings on the CPU
  in benchmarks/results/train_step_speed.json; target at least 10x.

`python benchmarks/gpu_check.py --device cpu --quick` runs the same code on the CPU, small.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import torch

MODULES = ("pydantic", "dimod", "dwave.samplers", "dwave.system", "minorminer", "qiskit", "numba",
           "tensorboard", "torchmetrics", "typer", "tqdm", "safetensors", "qaaan")  # fmt: skip
CPU_RESULTS = Path(__file__).parent / "results" / "train_step_speed.json"
TARGET_UPDATES_PER_NS, TARGET_SPEED_UP = 100.0, 10.0


def found() -> dict:
    """What this machine has: versions, the GPU, and the imports that fail."""
    missing = {}
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception as error:  # a missing package or one that does not load
            missing[name] = f"{type(error).__name__}: {error}"
    gpu = torch.cuda.is_available()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name() if gpu else None,
        "gpu_capability": torch.cuda.get_device_capability() if gpu else None,
        "missing_imports": missing,
    }


def cuda_tests(timeout: float) -> dict:
    """Each test marked cuda and its outcome (passed, failed with its message, skipped)."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-p", "no:cacheprovider",
                   f"--junitxml={report}", "tests"]  # fmt: skip
        try:
            subprocess.run(command, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"pytest did not finish in {timeout:.0f} s"}
        if not report.exists():
            return {"error": "pytest wrote no report"}
        outcomes = {}
        for case in ElementTree.parse(report).iter("testcase"):
            name = f"{case.get('classname')}::{case.get('name')}"
            problem = next(iter(case), None)
            if problem is None:
                outcomes[name] = "passed"
            else:
                outcomes[name] = f"{problem.tag}: {(problem.get('message') or '')[:300]}"
        return outcomes


def timed(run, device: torch.device, repeats: int) -> float:
    """Best wall time of `run` over `repeats`, after one warm-up, waiting for the device."""
    run()
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def sampler_speed(device: torch.device, nodes: int, chains: int, sweeps: int) -> list[dict]:
    """Spin updates per nanosecond of gibbs and sqa (per slice) on chimera(`nodes`)."""
    from qaaan import samplers, topology
    from qaaan.bm import random_machine

    bm = random_machine(topology.make("chimera", nodes), seed=0, h_scale=0.5, J_scale=0.3)
    bm = bm.to(device)
    rows = []
    for name, options, slices in [
        ("gibbs", {"sweeps": sweeps, "burn_in": 0}, 1),
        ("sqa", {"sweeps": sweeps, "trotter": 4}, 4),
    ]:
        sampler = samplers.make(name, seed=0, backend="torch", **options)
        seconds = timed(lambda s=sampler: s.sample(bm, chains), device, repeats=3)
        updates = sweeps * chains * nodes * slices
        rows.append({
            "sampler": name, "graph": f"chimera({nodes})", "chains": chains, "sweeps": sweeps,
            "trotter": slices, "seconds": seconds, "spin_updates_per_ns": updates / seconds / 1e9,
            "target": TARGET_UPDATES_PER_NS,
        })  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def training_speed(device: torch.device, rounds: int) -> list[dict]:
    """Seconds per iteration of the speed contenders on `device`, and the speed-up over the
    CPU's figure for today's settings."""
    from train_step import measure

    measured = measure("speed", 5, rounds, 5, {"device": device.type, "dataset": "mnist-10k"})
    cpu = json.loads(CPU_RESULTS.read_text())
    cpu_today = cpu["rows"][0]["seconds_per_iteration"]
    rows = []
    for label, (seconds, share) in measured.items():
        rows.append({
            "contender": label, "seconds_per_iteration": seconds, "sampling_share": share,
            "speed_up_over_cpu_today": cpu_today / seconds, "cpu": cpu["machine"],
            "target": TARGET_SPEED_UP,
        })  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--quick", action="store_true", help="small sizes: a dry run")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    args = parser.parse_args()
    result = {"found": found()}
    print(result["found"], flush=True)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        result["error"] = "torch sees no CUDA device"
    else:
        result["tests"] = cuda_tests(timeout=60 if args.quick else 240)
        nodes, chains, sweeps = (128, 500, 5) if args.quick else (2048, 10_000, 50)
        result["samplers"] = sampler_speed(device, nodes, chains, sweeps)
        result["training"] = training_speed(device, rounds=1 if args.quick else 5)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
