#!/usr/bin/python3
"""Makes the models of the ONNX Runtime comparison (bench/inference_bench.sh, SECTIONS=ort): one set of weights per
architecture, written three ways so the three runtimes run identical weights.

  DIR/ARCH.onnx                 torch.onnx.export (opset 17, dynamic batch), for ONNX Runtime
  DIR/ARCH.pth                  the state dict, for the PyTorch side
  DIR/ARCH-graft.safetensors    the same tensors (F32; num_batches_tracked left out) with Graft's metadata
                                (ImageNet preprocessing at 224, classes NORMAL/PNEUMONIA), for Graft's runtime

Weights: torchvision's random initialisation (weights=None, num_classes=2, torch.manual_seed(0)); then every batch
norm's running mean/variance and affine parameters are drawn at random too (seeded), because torchvision's initial
values (mean 0, variance 1, scale 1, shift 0) make folding batch norm into the convolutions a near no-op, and the
parity check should see the folding.

The parity check (inference_bench.sh) classifies one 256x256 image with all three; at that size Resize(256) is a
no-op on every side, so their inputs agree to float rounding and so must their logits.

  /usr/bin/python3 bench/ort/export_models.py DIR [ARCH ...]      (default: resnet18 resnet50)

Needs torch and torchvision (torch.onnx.export in torch 1.13 needs no `onnx` package). Files already there are kept.
"""
import json
import os
import struct
import sys

import torch
import torchvision

META = {
    "graft.image_size": "224",
    "graft.resize_size": "256",
    "graft.mean": "0.485,0.456,0.406",
    "graft.std": "0.229,0.224,0.225",
    "graft.classes": '["NORMAL","PNEUMONIA"]',
}


def write_atomic(path, write):
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)


def write_safetensors(path, state, metadata):
    """The safetensors layout: 8-byte little-endian header length, JSON header, then the raw tensors."""
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in state.items():
        data = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
    write_atomic(path, write)


def model(arch):
    torch.manual_seed(0)
    m = getattr(torchvision.models, arch)(weights=None, num_classes=2)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                n = mod.num_features
                mod.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                mod.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                mod.weight.copy_(torch.rand(n, generator=g) + 0.5)
                mod.bias.copy_(torch.randn(n, generator=g) * 0.1)
    return m.eval()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    archs = sys.argv[2:] or ["resnet18", "resnet50"]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    for arch in archs:
        files = [os.path.join(out, arch + s) for s in (".onnx", ".pth", "-graft.safetensors")]
        if all(os.path.exists(f) for f in files):
            continue
        m = model(arch)
        state = m.state_dict()
        write_atomic(files[1], lambda tmp: torch.save(state, tmp))
        write_safetensors(files[2], {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}, META)
        write_atomic(files[0], lambda tmp: torch.onnx.export(
            m, torch.zeros(1, 3, 224, 224), tmp, opset_version=17, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True))
        print("wrote", " ".join(files))


if __name__ == "__main__":
    main()
