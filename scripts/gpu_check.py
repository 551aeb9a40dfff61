"""GPU check: run on a machine with an NVIDIA GPU to see the real NVML readings and
what mlopslab's GPU limits do there.

    python scripts/gpu_check.py [--out DIR] [--keep]

It makes a lab in a temporary folder (a local Ray cluster that advertises the
GPUs NVML finds), then, through the real CLI:

1. reads every GPU through the NVML source (name, utilization, memory, power,
   temperature, processes);
2. runs a probe recipe with gpus=1 and a small gpu_memory_gb that stays within its
   limit: prints CUDA_VISIBLE_DEVICES, PyTorch's memory fraction, the ONNX Runtime
   providers the step got (CUDA with gpu_mem_limit where onnxruntime has CUDA) and
   the service's GPU view with the owner of each GPU process;
3. runs it asking PyTorch for more than the limit: the framework refuses (OOM);
4. runs it allocating past the limit behind PyTorch's back: the watchdog, reading
   NVML per-process memory, kills the run, and the reaction time is measured;
5. runs two 0.5-GPU runs side by side on one GPU;
6. asks for more GPUs than the machine has: rejected at once.

Writes `gpu-check.md` (a report for docs/gpu-check.md), `gpu-check.json` and an
NVML recording (`nvml-recording.jsonl`, the replay format of docs/gpus.md) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mlopslab.monitor.gpu import NvmlSource, record  # noqa: E402

GIB = 1024**3
LIMIT_GB = 2.0

PROBE_TOML = """
name = "gpu-probe"
description = "Allocates GPU memory with PyTorch and runs ONNX Runtime, to check GPU limits."
[params.mode]
type = "choice"
choices = ["within", "torch_over", "bypass"]
default = "within"
[params.gb]
type = "float"
default = 1.0
[params.hold_s]
type = "float"
default = 6.0
[resources]
gpus = 1
gpu_memory_gb = 2.0
[[steps]]
name = "probe"
function = "steps:probe"
"""

PROBE_STEPS = '''
import os, time, json

def probe(ctx):
    import torch
    facts = {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
             "ray_gpu_ids": ctx.gpu_ids, "torch_device_count": torch.cuda.device_count(),
             "limit_bytes": ctx.gpu_memory_limit, "pid": os.getpid()}
    total = torch.cuda.get_device_properties(0).total_memory
    mode, gb = ctx.params["mode"], ctx.params["gb"]
    if mode == "within":
        facts["onnx"] = onnx_check(ctx)
    if mode == "bypass":
        # what a framework without a cap would do: lift PyTorch's cap, then allocate
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
    try:
        block = torch.empty(int(gb * 2**30), dtype=torch.uint8, device="cuda")
        block.fill_(1)
        a = torch.randn(4096, 4096, device="cuda")
        facts["allocated_at"] = time.time()
        facts["allocated_gb"] = round(torch.cuda.memory_allocated(0) / 2**30, 3)
        print("FACTS " + json.dumps(facts), flush=True)
        end = time.time() + ctx.params["hold_s"]
        while time.time() < end:
            a = (a @ a).clamp_(-1, 1)
        torch.cuda.synchronize()
    except torch.OutOfMemoryError as e:
        facts["torch_oom"] = str(e).splitlines()[0][:300]
        print("FACTS " + json.dumps(facts), flush=True)
        raise
    ctx.log_metric("allocated_gb", facts["allocated_gb"])
    return facts


def onnx_check(ctx):
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 256])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 256])
    w = helper.make_tensor("w", TensorProto.FLOAT, [256, 256],
                           np.eye(256, dtype=np.float32).ravel().tolist())
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    providers = ctx.onnx_providers()
    session = ort.InferenceSession(model.SerializeToString(), providers=providers)
    out = session.run(None, {"x": np.ones((8, 256), np.float32)})[0]
    return {"available": ort.get_available_providers(), "asked": str(providers),
            "used": session.get_providers(), "ok": bool(out.sum() == 8 * 256),
            "version": ort.__version__}
'''


def mlopslab(lab: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "mlopslab", "--lab", str(lab), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def as_json(done: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(done.stdout)
    except ValueError:
        return {"stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]}


def gpu_view(lab: Path) -> Any:
    """`mlopslab gpu --json`: the service's GPU reading with each process's owner."""
    return as_json(mlopslab(lab, "gpu", "--json"))


USE_KEYS = ("gpu_hours_allocated", "gpu_hours_busy", "busy_pct", "energy_kwh", "peak_gpu_memory",
            "cost_allocated", "cost_used", "idle_waste", "unpriced_gpu_hours", "unmeasured_gpu_hours")


def use_of(lab: Path, run_ids: list[str]) -> dict[str, Any]:
    """What the monitor says each run held and used (`mlopslab cost --by run`)."""
    cost = as_json(mlopslab(lab, "cost", "--by", "run", "--since", "all", "--json"))
    lines = {line["key"]: line for line in cost.get("lines", [])}
    return {r: {k: lines.get(r, {}).get(k) for k in USE_KEYS} for r in run_ids}


def facts_of(lab: Path, run_id: str) -> dict[str, Any]:
    logs = mlopslab(lab, "runs", "logs", run_id).stdout
    found = [json.loads(line.split("FACTS ", 1)[1]) for line in logs.splitlines() if "FACTS " in line]
    return found[-1] if found else {}


def summary(run: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "status", "reason", "resources", "gpu_ids", "queued_at", "started_at", "ended_at")
    return {k: run.get(k) for k in keys}


def ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.environ.get("OUT") or ".", help="where reports go")
    parser.add_argument("--keep", action="store_true", help="leave the lab and Ray running")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"host": platform.node(), "python": sys.version.split()[0],
                              "started": datetime.now().isoformat(timespec="seconds")}
    t0 = time.monotonic()

    def step(name: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f}s] {name}", flush=True)

    step("NVML readings")
    nvml = NvmlSource()
    snap = nvml.sample()
    report["nvml"] = snap.to_dict()
    print(json.dumps(report["nvml"], indent=1)[:3000])
    if not snap.devices:
        print(f"no GPUs: {snap.problem}")
        (out / "gpu-check.json").write_text(json.dumps(report, indent=1, default=str))
        return 1
    recording = threading.Thread(
        target=record, args=(NvmlSource(), out / "nvml-recording.jsonl", 0.5, 240), daemon=True)
    recording.start()

    from mlopslab.lab import init_lab

    root = Path(tempfile.mkdtemp(prefix="mlopslab-gpu-check-")) / "lab"
    lab = init_lab(root, "gpu-check").root
    config = (lab / "mlopslab.toml").read_text().replace(
        "watchdog_interval_s = 1.0", "watchdog_interval_s = 0.5").replace(
        "process_interval_s = 5.0", "process_interval_s = 1.0")
    (lab / "mlopslab.toml").write_text(config)
    recipe = lab / "recipes" / "gpu-probe"
    recipe.mkdir()
    (recipe / "recipe.toml").write_text(PROBE_TOML)
    (recipe / "steps.py").write_text(textwrap.dedent(PROBE_STEPS))
    try:
        step("starting the lab and its local Ray cluster")
        started = mlopslab(lab, "lab", "start", "--ray", "--json")
        report["lab_start"] = as_json(started)
        report["queue_capacity"] = as_json(mlopslab(lab, "queue", "--json")).get("capacity")
        print("capacity", report["queue_capacity"])

        step("run 1: gpus=1, gpu_memory_gb=2, allocates 0.5 GiB (within the limit)")
        within = mlopslab(lab, "run", "gpu-probe", "--detach", "--json", "--set", "mode=within",
                          "--set", "gb=0.5", "--set", "hold_s=14")
        run_id = as_json(within)["id"]
        time.sleep(1)
        views = []
        for _ in range(40):
            view = gpu_view(lab)
            if any(p.get("owner") for p in view.get("processes", [])):
                views.append(view)
                break
            time.sleep(0.5)
        report["service_gpu_view_during_run1"] = views[-1] if views else gpu_view(lab)
        step("TUI screens while run 1 holds the GPU")
        report["tui"] = tui_shots(lab, out)
        report["run1"] = summary(as_json(mlopslab(lab, "runs", "show", run_id, "--json")))
        done = wait(lab, run_id)
        report["run1"] = summary(done) | {"facts": facts_of(lab, run_id)}
        time.sleep(2)  # the monitor's last readings of it are committed
        report["run1_use"] = use_of(lab, [run_id])[run_id]
        print(json.dumps(report["run1"], indent=1), json.dumps(report["run1_use"], indent=1))

        step("run 2: PyTorch asked for 4 GiB with a 2 GiB limit (framework cap)")
        over = mlopslab(lab, "run", "gpu-probe", "--json", "--set", "mode=torch_over", "--set", "gb=4")
        run2 = as_json(over)
        report["run2"] = summary(run2) | {"facts": facts_of(lab, run2["id"]), "exit": over.returncode}
        print(json.dumps(report["run2"], indent=1))

        step("run 3: 5 GiB allocated past PyTorch's cap (the NVML watchdog)")
        bypass = mlopslab(lab, "run", "gpu-probe", "--json", "--set", "mode=bypass", "--set", "gb=5",
                          "--set", "hold_s=60")
        run3 = as_json(bypass)
        facts = facts_of(lab, run3["id"])
        report["run3"] = summary(run3) | {"facts": facts, "exit": bypass.returncode}
        if facts.get("allocated_at") and run3.get("ended_at"):
            report["watchdog_reaction_s"] = round(ts(run3["ended_at"]) - facts["allocated_at"], 3)
        report["gpu_processes_after_kill"] = gpu_view(lab).get("processes")
        print(json.dumps(report["run3"], indent=1), report.get("watchdog_reaction_s"))

        step("runs 4+5: two 0.5-GPU runs on the one GPU")
        pair = [as_json(mlopslab(lab, "run", "gpu-probe", "--detach", "--json", "--gpus", "0.5",
                                 "--set", "gb=0.5", "--set", "hold_s=6"))["id"] for _ in range(2)]
        halves = [wait(lab, r) for r in pair]
        report["half_gpu_pair"] = [summary(r) | {"facts": facts_of(lab, r["id"])} for r in halves]
        time.sleep(2)
        report["half_gpu_pair_use"] = use_of(lab, pair)
        a, b = halves
        report["half_gpu_pair_overlap_s"] = round(
            min(ts(a["ended_at"]), ts(b["ended_at"])) - max(ts(a["started_at"]), ts(b["started_at"])), 3)

        step("run 6: asks for more GPUs than the machine has")
        too_many = mlopslab(lab, "run", "gpu-probe", "--gpus", str(len(snap.devices) + 1))
        report["too_many_gpus"] = {"exit": too_many.returncode, "stderr": too_many.stderr.strip()}
        print(report["too_many_gpus"])
        report["queue_after"] = as_json(mlopslab(lab, "queue", "--json"))
    finally:
        if not args.keep:
            mlopslab(lab, "lab", "stop")
        recording.join(timeout=1)
        collect_logs(lab, out)
    report["elapsed_s"] = round(time.monotonic() - t0, 1)
    (out / "gpu-check.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "gpu-check.md").write_text(markdown(report))
    step(f"done; wrote {out / 'gpu-check.md'}")
    return 0


def tui_shots(lab: Path, out: Path) -> list[str]:
    """SVG screenshots of the TUI's GPU and dashboard screens over this lab (real NVML)."""
    try:
        import asyncio

        from mlopslab.lab import Lab
        from mlopslab.tui.app import build_app
    except ImportError as e:
        return [f"TUI not rendered: {e}"]

    async def shoot(start: str, size: tuple[int, int]) -> str:
        app = build_app(Lab(lab), start=start)
        async with app.run_test(size=size) as pilot:
            for _ in range(10):  # let the panels gather a few samples
                await pilot.pause(0.5)
            name = f"tui-{start}-real-gpu.svg"
            (out / name).write_text(app.export_screenshot(title=f"mlopslab · {start} · real GPU"))
            return name

    done = []
    for start, size in (("gpus", (100, 30)), ("dashboard", (120, 36))):
        try:
            done.append(asyncio.run(shoot(start, size)))
        except Exception as e:  # noqa: BLE001 - the check goes on without pictures
            done.append(f"{start}: {e!r}")
    return done


def collect_logs(lab: Path, out: Path) -> None:
    """The service's, Ray's and every run's log, for a report that went wrong."""
    parts = []
    for log in [lab / ".mlopslab" / "service.log", *sorted((lab / "runs").glob("*/run.log"))]:
        if log.exists():
            parts.append(f"===== {log}\n{log.read_text(errors='replace')[-20000:]}")
    (out / "lab-logs.txt").write_text("\n".join(parts))
    ray_log = lab / ".mlopslab" / "ray.log"
    if ray_log.exists():
        (out / "ray-log.txt").write_text(ray_log.read_text(errors="replace")[-20000:])


def wait(lab: Path, run_id: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = as_json(mlopslab(lab, "runs", "show", run_id, "--json"))
        if run.get("status") not in ("queued", "starting", "running"):
            return run
        time.sleep(0.5)
    return run


def markdown(r: dict[str, Any]) -> str:
    devices = r["nvml"]["devices"]
    lines = [f"Run {r['started']} on `{r['host']}` (Python {r['python']}), {r['elapsed_s']} s in all.",
             "", f"NVML driver {r['nvml'].get('driver')}:", ""]
    for d in devices:
        lines.append(f"- GPU {d['index']} {d['name']} ({d['uuid']}): {d['utilization_pct']:g}% util, "
                     f"{d['memory_used'] / GIB:.2f} of {d['memory_total'] / GIB:.1f} GiB, "
                     f"{d['power_w']} W of {d['power_limit_w']} W, {d['temperature_c']} C, "
                     f"{len(d['processes'])} processes")
    lines += ["", f"Local cluster capacity as the queue sees it: {r.get('queue_capacity')}", ""]
    for key, title in (("run1", "within its limit"), ("run2", "PyTorch asked past the limit"),
                       ("run3", "allocation behind PyTorch's back")):
        run = r.get(key) or {}
        lines += [f"### {key}: {title}", "", "```json", json.dumps(run, indent=1, default=str), "```", ""]
    lines += ["### run1 as the monitor saw it: GPU held versus busy, energy, cost", "", "```json",
              json.dumps(r.get("run1_use"), indent=1, default=str), "```", ""]
    lines += ["### The service's GPU view during run1 (owners of GPU processes)", "", "```json",
              json.dumps(r.get("service_gpu_view_during_run1"), indent=1, default=str)[:4000], "```", "",
              f"Watchdog reaction (allocation done -> run ended as killed): {r.get('watchdog_reaction_s')} s",
              "", f"GPU processes after the kill: {r.get('gpu_processes_after_kill')}", "",
              "### Two 0.5-GPU runs", "", "```json",
              json.dumps(r.get("half_gpu_pair"), indent=1, default=str), "```",
              f"They overlapped for {r.get('half_gpu_pair_overlap_s')} s. Held versus busy, each "
              "(one GPU's use split by the two processes' memory):", "", "```json",
              json.dumps(r.get("half_gpu_pair_use"), indent=1, default=str), "```", "",
              f"### More GPUs than the machine has: {r.get('too_many_gpus')}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
