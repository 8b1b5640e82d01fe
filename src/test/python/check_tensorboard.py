#!/usr/bin/python3
"""Checks a ShakeNet run folder's TensorBoard event files without ShakeNet's code.

Decodes every events.out.tfevents.* file with Debian's python3-protobuf and classes that protoc
generates from tensorboard_events.proto (TensorFlow's published field numbers), verifies the
TFRecord framing with a CRC-32C written here, replays the files the way TensorBoard does (files
in name order; a SessionLog START at step s drops the points at steps >= s read before it), and
asserts:
  - each file starts with file_version "brain.Event:2"; every later file with a SessionLog START;
  - protobuf reads every record with no unknown field and writes it back to the same bytes;
  - after the replay no tag has two points at one step, and steps only grow per tag;
  - epoch/train_loss, epoch/train_accuracy, epoch/test_loss, epoch/test_accuracy hold, at step
    epoch x steps-per-epoch, metrics.jsonl's figures as float32, one point per epoch line;
  - train/loss, train/accuracy, lr, images_per_second sit at every log_interval-th update of each
    epoch but its last (config.json's log_interval), finite and plausible;
  - config/text_summary is a text-plugin string tensor at step 0 (and at each resume's START step)
    whose newest value is config.json.
Prints a JSON summary; exits 1 with the reason when a check fails, 2 when it cannot run.

usage: check_tensorboard.py RUN_FOLDER [--steps-per-epoch N] [--min-files K] [--min-purged P]
"""
import argparse
import glob
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCH_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
INTERVAL_TAGS = ("train/loss", "train/accuracy", "lr", "images_per_second")
CONFIG_TAG = "config/text_summary"


class CheckFailed(Exception):
    pass


def cannot_run(why):
    print("check_tensorboard: cannot run: " + why, file=sys.stderr)
    sys.exit(2)


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def load_messages():
    """Compiles tensorboard_events.proto with protoc into a temporary folder and imports it."""
    try:
        import google.protobuf  # noqa: F401
    except ImportError:
        cannot_run("needs python3-protobuf (apt-get install python3-protobuf protobuf-compiler)")
    out = tempfile.mkdtemp(prefix="tb-proto-")
    try:
        subprocess.run(["protoc", "-I", HERE, "--python_out", out, os.path.join(HERE, "tensorboard_events.proto")],
                       check=True, capture_output=True, text=True)
    except FileNotFoundError:
        cannot_run("needs protoc (apt-get install protobuf-compiler)")
    except subprocess.CalledProcessError as e:
        cannot_run("protoc failed: " + e.stderr)
    sys.path.insert(0, out)
    import tensorboard_events_pb2
    return tensorboard_events_pb2


def crc32c(data):
    """CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    """The data of each TFRecord in the file, both CRCs checked."""
    with open(path, "rb") as f:
        blob = f.read()
    at, n = 0, 0
    while at < len(blob):
        require(at + 12 <= len(blob), "%s: record %d: header cut short" % (path, n))
        header = blob[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[at + 8:at + 12])
        require(length_crc == masked(crc32c(header)), "%s: record %d: length CRC mismatch" % (path, n))
        data = blob[at + 12:at + 12 + length]
        require(len(data) == length and at + 16 + length <= len(blob), "%s: record %d: data cut short" % (path, n))
        (data_crc,) = struct.unpack("<I", blob[at + 12 + length:at + 16 + length])
        require(data_crc == masked(crc32c(data)), "%s: record %d: data CRC mismatch" % (path, n))
        yield data
        at += 16 + length
        n += 1


def unknown_field_count(message):
    try:
        from google.protobuf import unknown_fields
        own = len(unknown_fields.UnknownFieldSet(message))
    except ImportError:
        own = len(message.UnknownFields())
    nested = 0
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        for item in (value if field.label == field.LABEL_REPEATED else [value]):
            nested += unknown_field_count(item)
    return own + nested


def float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def replay(files, pb):
    """TensorBoard's view of the files: {tag: [(step, value)]}, and how many points a START dropped."""
    series, purged, starts = {}, 0, []
    last_wall = -math.inf
    for index, path in enumerate(files):
        for n, data in enumerate(records(path)):
            event = pb.Event()
            event.ParseFromString(data)
            where = "%s: record %d" % (os.path.basename(path), n)
            require(unknown_field_count(event) == 0, where + ": fields outside TensorBoard's event format")
            require(event.SerializeToString() == data, where + ": not protobuf's own encoding of its fields")
            kind = event.WhichOneof("what")
            if n == 0:
                require(kind == "file_version" and event.file_version == "brain.Event:2",
                        where + ": the first record is not file_version brain.Event:2")
                require(event.wall_time >= last_wall, where + ": file started before the previous file")
                last_wall = event.wall_time
                continue
            require(kind != "file_version", where + ": a second file_version")
            if index > 0 and n == 1:
                require(kind == "session_log" and event.session_log.status == pb.SessionLog.START,
                        where + ": a later file does not open with a SessionLog START")
            if kind == "session_log":
                require(event.session_log.status == pb.SessionLog.START, where + ": a SessionLog other than START")
                starts.append(event.step)
                for tag in series:
                    kept = [p for p in series[tag] if p[0] < event.step]
                    purged += len(series[tag]) - len(kept)
                    series[tag] = kept
                continue
            require(kind == "summary" and len(event.summary.value) == 1, where + ": not a one-value summary")
            value = event.summary.value[0]
            if value.WhichOneof("value") == "simple_value":
                point = value.simple_value
            else:
                require(value.WhichOneof("value") == "tensor", where + ": a value that is neither scalar nor tensor")
                tensor = value.tensor
                require(value.metadata.plugin_data.plugin_name == "text", where + ": a tensor not for the text plugin")
                require(tensor.dtype == pb.DT_STRING and [d.size for d in tensor.tensor_shape.dim] == [1]
                        and len(tensor.string_val) == 1, where + ": the text is not a one-string tensor")
                point = tensor.string_val[0].decode("utf-8")
            series.setdefault(value.tag, []).append((event.step, point))
    return series, purged, starts


def check(run, steps_per_epoch, min_files, min_purged, pb):
    files = sorted(glob.glob(os.path.join(run, "events.out.tfevents.*")))
    require(len(files) >= max(1, min_files), "%d event files in %s, expected at least %d" % (len(files), run, max(1, min_files)))
    series, purged, starts = replay(files, pb)
    require(purged >= min_purged, "the SessionLog STARTs dropped %d stale points, expected at least %d" % (purged, min_purged))
    for tag, points in series.items():
        steps = [s for s, _ in points]
        require(all(a < b for a, b in zip(steps, steps[1:])), "%s: steps not strictly increasing after the replay: %s" % (tag, steps))

    with open(os.path.join(run, "metrics.jsonl")) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    require(lines, "metrics.jsonl is empty")
    if steps_per_epoch is None:
        first = series.get("epoch/train_loss", [])
        require(first, "no epoch/train_loss points")
        steps_per_epoch = first[0][0] // lines[0]["epoch"]
    compared = 0
    for key in EPOCH_KEYS:
        points = dict(series.get("epoch/" + key, []))
        expected_steps = [m["epoch"] * steps_per_epoch for m in lines if m.get(key) is not None]
        require(sorted(points) == expected_steps,
                "epoch/%s at steps %s, metrics.jsonl has it at %s" % (key, sorted(points), expected_steps))
        for m in lines:
            if m.get(key) is None:
                continue
            got, want = points[m["epoch"] * steps_per_epoch], float32(m[key])
            require(got == want, "epoch %d: epoch/%s = %r in TensorBoard, %r (as float32) in metrics.jsonl" % (m["epoch"], key, got, want))
            compared += 1

    with open(os.path.join(run, "config.json")) as f:
        config = json.load(f)
    # every log_interval updates within an epoch, not at its last update (the epoch's figures are there)
    interval = config["log_interval"]
    expected_steps = [(m["epoch"] - 1) * steps_per_epoch + d for m in lines for d in range(interval, steps_per_epoch, interval)]
    for tag in INTERVAL_TAGS:
        points = series.get(tag, [])
        require([s for s, _ in points] == expected_steps, "%s at steps %s, expected %s" % (tag, [s for s, _ in points], expected_steps))
        require(all(math.isfinite(v) for _, v in points), "%s: a value that is not finite" % tag)
    require(all(0 <= v <= 1 for _, v in series.get("train/accuracy", [])), "train/accuracy outside [0, 1]")
    require(all(v > 0 for _, v in series.get("lr", []) + series.get("images_per_second", [])), "lr or images_per_second not positive")
    last_step = lines[-1]["epoch"] * steps_per_epoch
    require(all(s <= last_step for points in series.values() for s, _ in points), "points beyond the last epoch's step %d" % last_step)

    configs = series.get(CONFIG_TAG, [])
    require(configs and configs[0][0] == 0, "no %s at step 0" % CONFIG_TAG)
    require(all(s in starts for s, _ in configs[1:]), "%s written again elsewhere than at a resume's START" % CONFIG_TAG)
    text = configs[-1][1]
    require(all(l.startswith("    ") for l in text.split("\n")), "the config text is not one indented (Markdown code) block")
    require(json.loads("\n".join(l[4:] for l in text.split("\n"))) == config, "the newest %s differs from config.json" % CONFIG_TAG)

    return {"files": len(files), "session_starts": starts, "purged_points": purged, "steps_per_epoch": steps_per_epoch,
            "epochs": len(lines), "epoch_values_compared": compared,
            "points": {tag: len(points) for tag, points in sorted(series.items())}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run")
    parser.add_argument("--steps-per-epoch", type=int)
    parser.add_argument("--min-files", type=int, default=1)
    parser.add_argument("--min-purged", type=int, default=0)
    args = parser.parse_args()
    pb = load_messages()
    try:
        summary = check(args.run, args.steps_per_epoch, args.min_files, args.min_purged, pb)
    except CheckFailed as e:
        print("check_tensorboard: FAILED: " + str(e), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
