"""Preparing many checkpoints of one training run (issue #18's "cheap checkpoints").

N random-init checkpoints of tf_efficientnetv2_b0 with a 512-d Linear head (the seed article's CustomModel, as a
plain state_dict), each prepared by ``models.prepare_model`` in a fresh cache: exported to ONNX in a guarded
worker (kept warm from one checkpoint to the next: PyTorch is imported once) and checked against PyTorch.  Prints the first checkpoint's time, the mean of the others, and the total.

Run: python benchmarks/bench_checkpoints.py [N ...]   (default: 3 20)
"""
import sys
import tempfile
import time
from pathlib import Path


def main(counts):
    import timm
    import torch

    from faceroc_core import worker
    from faceroc_core.models import prepare_model

    for n in counts:
        for w in worker._WARM.values():  # each count starts cold: no export worker kept from the one before
            w.close()
        worker._WARM.clear()
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for k in range(n):
                torch.manual_seed(k)
                net = timm.create_model("tf_efficientnetv2_b0", pretrained=False, num_classes=512)
                p = Path(tmp) / f"run_epoch{k + 1:03d}.pth"
                torch.save(net.state_dict(), p)
                paths.append(p)
            times = []
            for p in paths:
                t = time.perf_counter()
                pm = prepare_model(p, arch="tf_efficientnetv2_b0", size=(112, 112), cache_dir=Path(tmp) / "cache")
                times.append(time.perf_counter() - t)
                assert pm.export_check.ok, pm.export_check
            rest = times[1:] or [0.0]
            print(f"{n} checkpoints: first {times[0]:.1f} s, then {sum(rest) / len(rest):.1f} s each "
                  f"(max {max(rest):.1f} s); all {sum(times):.1f} s; max |PyTorch - ONNX| {pm.export_check.max_abs_diff:.1e}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [3, 20])
