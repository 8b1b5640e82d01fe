#!/usr/bin/env python3
"""Kills a short training run again and again and checks that it still ends as an uninterrupted one.

One run trains straight through; a second run of the same config is killed with SIGKILL at
--kills instants and stopped with SIGTERM at --terms more, resumed with `train --resume` after
each, and then left to finish. SIGKILLs aim in turn at a training step, an evaluation and a
checkpoint write (a temporary checkpoint file exists); SIGTERMs come at random instants and must
end the process with exit code 143 after a checkpoint of the step it finished. The two
metrics.jsonl files are then compared line by line, every field but the timings. Prints one
JSON object; exits 1 when a line differs or a stop misbehaved.

The data is synthetic (random pixels in CIFAR-10's binary layout), the model small, so that one
start costs about as much as the JVM's start and a whole check takes a few minutes.
"""
import argparse
import glob
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import time

RECORD = 3073
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()


def write_data(root, per_file, rng):
    folder = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(folder)
    for name in TRAIN_FILES + ["test_batch.bin"]:
        raw = bytearray(rng.randbytes(per_file * RECORD))
        for i in range(per_file):
            raw[i * RECORD] = rng.randrange(10)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(raw)
    with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")


def results(run):
    """metrics.jsonl without its timing fields, one dict per line."""
    out = []
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                d.pop("images_per_second", None)
                d.pop("seconds", None)
                out.append(d)
    return out


def log_lines(run):
    try:
        with open(os.path.join(run, "train.log")) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def temporary_checkpoint(run):
    return bool(glob.glob(os.path.join(run, "checkpoints", ".*.tmp")))


def finished(run, epochs):
    try:
        return len(results(run)) == epochs and any(l.endswith("metrics.jsonl") and " done: " in l for l in log_lines(run))
    except (FileNotFoundError, json.JSONDecodeError):
        return False


class Chaos:
    def __init__(self, args, launcher, config, run):
        self.args, self.launcher, self.config, self.run = args, launcher, config, run
        self.rng = random.Random(args.seed)
        self.phases = {"step": 0, "evaluation": 0, "checkpoint write": 0, "start-up": 0}
        self.term_checkpoints = {"mid-epoch": 0, "epoch end": 0, "none new": 0}
        self.problems = []
        self.starts = 0

    def start(self):
        self.starts += 1
        has_config = os.path.exists(os.path.join(self.run, "config.json"))
        command = self.launcher + (["train", "--resume", self.run] if has_config else
                                   ["train", "--config", self.config, "--set", "output=" + self.run])
        log = open(os.path.join(self.args.work, f"start-{self.starts}.txt"), "w")
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT), len(log_lines(self.run))

    def wait_for(self, process, condition, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end and process.poll() is None:
            if condition():
                return True
            time.sleep(0.002)
        return False

    def training_started(self, process, lines_before):
        return self.wait_for(process, lambda: any("steps per epoch" in l for l in log_lines(self.run)[lines_before:]), 120)

    def sigkill(self, target):
        process, before = self.start()
        if not self.training_started(process, before):
            return process.wait() if process.poll() is not None else self.kill(process, "start-up")
        if target == "checkpoint write":
            hit = self.wait_for(process, lambda: temporary_checkpoint(self.run), 60)
        elif target == "evaluation":
            # the progress line one step before the epoch's end: the evaluation follows that step
            marker = f" step {self.args.steps - 1}/{self.args.steps} "
            seen = len(log_lines(self.run))
            hit = self.wait_for(process, lambda: any(marker in l for l in log_lines(self.run)[seen:]), 60)
            if hit:
                time.sleep(self.step_seconds * 1.5 + self.rng.uniform(0, self.eval_seconds * 0.6))
        else:
            hit = True
            time.sleep(self.rng.uniform(0.1, 1.5))
        if process.poll() is not None:
            return process.returncode
        phase = target if hit else "step"
        if target != "checkpoint write" and temporary_checkpoint(self.run):
            phase = "checkpoint write"
        return self.kill(process, phase)

    def kill(self, process, phase):
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.phases[phase] += 1
        return -9

    def sigterm(self):
        process, before = self.start()
        if not self.training_started(process, before):
            return process.wait()
        time.sleep(self.rng.uniform(0, self.args.steps * self.step_seconds + self.eval_seconds))
        if process.poll() is not None:
            return process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            self.problems.append("SIGTERM: the process did not exit within 120 s")
            return None
        out = open(os.path.join(self.args.work, f"start-{self.starts}.txt")).read()
        if code == 0 and finished(self.run, self.args.epochs):
            return code
        if code != 143:
            self.problems.append(f"SIGTERM: exit code {code}, 143 expected (start {self.starts})")
        elif "stopped by SIGTERM" not in out:
            self.problems.append(f"SIGTERM: no 'stopped by SIGTERM' line (start {self.starts})")
        else:
            written = [l for l in out.splitlines() if " checkpoint " in l and "stopped by" not in l]
            stopped = [l for l in out.splitlines() if "stopped by SIGTERM" in l][-1]
            newest = stopped.split("newest checkpoint ")[-1].split(". Continue")[0] if "newest checkpoint" in stopped else ""
            if not written or newest not in written[-1]:
                self.term_checkpoints["none new"] += 1
            else:
                self.term_checkpoints["mid-epoch" if "-batch-" in newest else "epoch end"] += 1
        return code


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=int(os.environ.get("KILLS", 12)), help="SIGKILLs (env KILLS, default 12)")
    p.add_argument("--terms", type=int, default=int(os.environ.get("TERMS", 6)), help="SIGTERMs (env TERMS, default 6)")
    p.add_argument("--seed", type=int, default=int(os.environ.get("SEED", 1)), help="the kill instants' seed (env SEED)")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--launcher", default=os.environ.get("SHAKENET", ""),
                   help="the command that runs ShakeNet (env SHAKENET; default: bin/shakenet of this checkout)")
    p.add_argument("--work", default=None, help="keep the runs in this folder (default: a temporary one, removed)")
    args = p.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    launcher = shlex.split(args.launcher) if args.launcher else [os.path.join(root, "bin", "shakenet")]
    temporary = None
    if args.work is None:
        temporary = tempfile.TemporaryDirectory(prefix="shakenet-chaos-")
        args.work = temporary.name
    os.makedirs(args.work, exist_ok=True)
    args.steps = 12
    batch = 16
    write_data(os.path.join(args.work, "data"), args.steps * batch // 5 + 1, random.Random(args.seed))
    config = os.path.join(args.work, "chaos.json")
    with open(config, "w") as f:
        json.dump({"name": "chaos", "model": {"depth": 14, "width": 8}, "epochs": args.epochs, "batch_size": batch,
                   "eval_batch_size": 32, "device": "cpu", "threads": 1, "log_interval": 1, "seed": 7,
                   "data": {"path": os.path.join(args.work, "data"), "train_limit": args.steps * batch, "test_limit": 0},
                   "checkpoint": {"keep_last": 2}}, f)

    began = time.monotonic()
    straight = os.path.join(args.work, "straight")
    code = subprocess.run(launcher + ["train", "--config", config, "--set", "output=" + straight],
                          stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT).returncode
    if code != 0:
        sys.exit(f"chaos: the uninterrupted run failed with exit code {code}")
    reference = results(straight)
    chaos = Chaos(args, launcher, config, os.path.join(args.work, "chaos"))
    with open(os.path.join(straight, "metrics.jsonl")) as f:
        timed = [json.loads(l) for l in f if l.strip()]
    chaos.step_seconds = batch / timed[-1]["images_per_second"]
    chaos.eval_seconds = max(0.05, timed[-1]["seconds"] - args.steps * chaos.step_seconds)

    plan = ["kill"] * args.kills + ["term"] * args.terms
    chaos.rng.shuffle(plan)
    targets = ["step", "evaluation", "checkpoint write"]
    kills = terms = restarts = 0
    for i, what in enumerate(plan):
        if finished(chaos.run, args.epochs):
            # the run got to its end before every stop was spent: it starts over, from scratch, in a fresh folder
            restarts += 1
            os.rename(chaos.run, chaos.run + f"-finished-{restarts}")
        if what == "kill":
            if chaos.sigkill(targets[kills % 3]) == -9:
                kills += 1
        else:
            if chaos.sigterm() == 143:
                terms += 1
    while not finished(chaos.run, args.epochs) and chaos.starts < len(plan) + 20:
        process, _ = chaos.start()
        process.wait()
    got = results(chaos.run) if os.path.exists(os.path.join(chaos.run, "metrics.jsonl")) else []
    differences = sum(1 for a, b in zip(reference, got) if a != b) + abs(len(reference) - len(got))
    report = {"sigkill": kills, "sigterm": terms, "sigkill_phases": chaos.phases, "sigterm_checkpoints": chaos.term_checkpoints,
              "starts": chaos.starts,
              "finished_before_all_stops": restarts, "metrics_lines": len(got), "differences": differences,
              "problems": chaos.problems, "seconds": round(time.monotonic() - began, 1)}
    print(json.dumps(report))
    if temporary is not None and differences == 0 and not chaos.problems:
        temporary.cleanup()
    elif temporary is not None:
        print(f"chaos: runs kept in {args.work}", file=sys.stderr)
    sys.exit(0 if differences == 0 and not chaos.problems else 1)


if __name__ == "__main__":
    main()
