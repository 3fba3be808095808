"""TF.js *graph* models (model.json + binary shards) as PyTorch modules with trainable weights.

A TF.js graph model is a frozen TensorFlow GraphDef: a list of nodes (op, inputs, attributes) and
a weights manifest that says how the Const nodes' values are laid out in the shards (float32,
int32, or quantized float16 / uint8). `TFJSGraph` runs the nodes needed for one chosen output in
topological order, in NCHW (PyTorch's layout), with every convolution filter and bias an
`nn.Parameter`, so the network can be fine-tuned and exported to ONNX like any other module.

What matters for numerical parity with TensorFlow (checked against @tensorflow/tfjs in
models/tests and test/models): "SAME" padding is asymmetric (the extra row/column goes at the
bottom/right), and ResizeBilinear without half_pixel_centers samples src = dst * in/out (not
PyTorch's half-pixel rule). Only the ops MobileNet/CenterNet-style graphs use are implemented; any
other op stops with an error that names it.
"""
from __future__ import annotations

import json
import math
import os
from typing import Dict, List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

_DTYPES = {"float32": np.float32, "int32": np.int32}
_QUANT = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16}


def read_weights(model_dir: str, manifest: List[dict]) -> Dict[str, np.ndarray]:
    """Const values by name, dequantized to float32 (int32 kept)."""
    out: Dict[str, np.ndarray] = {}
    for group in manifest:
        blob = b""
        for p in group["paths"]:
            with open(os.path.join(model_dir, p), "rb") as f:
                blob += f.read()
        off = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q:
                dt = np.dtype(_QUANT[q["dtype"]])
                raw = np.frombuffer(blob, dt, n, off)
                val = raw.astype(np.float32)
                if q["dtype"] != "float16":       # affine uint8/uint16: v = q * scale + min
                    val = val * np.float32(q["scale"]) + np.float32(q["min"])
            else:
                dt = np.dtype(_DTYPES[w["dtype"]])
                val = np.frombuffer(blob, dt, n, off).copy()
            off += n * dt.itemsize
            out[w["name"]] = val.reshape(shape)
        if off != len(blob):
            raise ValueError(f"{model_dir}: weights of group {group['paths']} use {off} of {len(blob)} bytes")
    return out


def _attr(node: dict, key: str, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [_b64(v) for v in lst["s"]]
        return []
    if "s" in a:
        return _b64(a["s"])
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    return a


def _b64(s: str) -> str:
    import base64
    return base64.b64decode(s).decode()


def _name(ref: str) -> str:
    """'node:1' -> 'node' (the graphs used here only consume output 0 of ops before the cut)."""
    if ref.startswith("^"):
        return ref[1:]
    return ref.split(":")[0]


def same_pad(x: torch.Tensor, k: int, s: int, d: int = 1) -> torch.Tensor:
    """TensorFlow 'SAME' padding of NCHW x for a k x k window with stride s (asymmetric)."""
    pads = []
    for size in (int(x.shape[3]), int(x.shape[2])):      # F.pad order: W then H
        eff = (k - 1) * d + 1
        total = max((math.ceil(size / s) - 1) * s + eff - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


def resize_bilinear_tf(x: torch.Tensor, out_h: int, out_w: int, align_corners: bool, half_pixel: bool) -> torch.Tensor:
    """tf.image.resize_bilinear with TF's own sampling rules, as two gathers + lerps."""
    def axis(n_in: int, n_out: int, dev):
        o = torch.arange(n_out, dtype=torch.float32, device=dev)
        if align_corners and n_out > 1:
            src = o * ((n_in - 1) / (n_out - 1))
        elif half_pixel:
            src = ((o + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
        else:
            src = o * (n_in / n_out)
        i0 = src.floor().clamp(max=n_in - 1)
        w = (src - i0)[None]
        i0 = i0.long()
        i1 = (i0 + 1).clamp(max=n_in - 1)
        return i0, i1, w

    h0, h1, wh = axis(int(x.shape[2]), out_h, x.device)
    w0, w1, ww = axis(int(x.shape[3]), out_w, x.device)
    top, bot = x.index_select(2, h0), x.index_select(2, h1)
    rows = top + (bot - top) * wh.view(1, 1, -1, 1)
    left, right = rows.index_select(3, w0), rows.index_select(3, w1)
    return left + (right - left) * ww.view(1, 1, 1, -1)


_ACTS = {"Relu": F.relu, "Relu6": lambda t: t.clamp(0, 6), "Sigmoid": torch.sigmoid, "Elu": F.elu}


class TFJSGraph(nn.Module):
    """The part of a TF.js graph model that computes `output` (a node name, or a list of them: then
    forward returns a list) from its one image input.

    `input_size`: the (H, W) the graph will be run at; ResizeBilinear nodes whose size is a Const
    computed for the model's native size are rescaled by the same factor, so a fully convolutional
    trunk can run at another size. The module takes NCHW float input (whatever the graph's own
    input expects, e.g. RGB 0-255) and returns NCHW.
    """

    def __init__(self, json_path: str, output, input_size=None):
        super().__init__()
        with open(json_path) as f:
            spec = json.load(f)
        model_dir = os.path.dirname(json_path)
        nodes = {n["name"]: n for n in spec["modelTopology"]["node"]}
        self.outputs = [output] if isinstance(output, str) else list(output)
        for o in self.outputs:
            if o not in nodes:
                raise KeyError(f"no node {o!r} in the graph")
        consts = read_weights(model_dir, spec["weightsManifest"])
        order: List[str] = []
        seen = set()

        def visit(name: str):          # iterative DFS post-order: the nodes `output` depends on
            stack = [(name, False)]
            while stack:
                n, done = stack.pop()
                if done:
                    order.append(n)
                    continue
                if n in seen:
                    continue
                seen.add(n)
                stack.append((n, True))
                for i in reversed(nodes[n].get("input", [])):
                    if not i.startswith("^"):
                        stack.append((_name(i), False))

        for o in self.outputs:
            visit(o)
        self.steps = [nodes[n] for n in order if nodes[n]["op"] != "Const"]
        inputs = [n for n in self.steps if n["op"] == "Placeholder"]
        if len(inputs) != 1:
            raise ValueError(f"expected one Placeholder before {self.outputs}, found {[n['name'] for n in inputs]}")
        self.input_name = inputs[0]["name"]
        dims = _attr(inputs[0], "shape", {}).get("shape", {}).get("dim", [])
        self.native_size = tuple(int(d["size"]) for d in dims[1:3]) if len(dims) == 4 else None
        self.input_size = tuple(input_size) if input_size else self.native_size
        self.params = nn.ParameterDict()
        self.values: Dict[str, object] = {}       # small Consts (scalars, axes, sizes), not trained
        self.keys: Dict[str, str] = {}            # const name -> ParameterDict key
        for n in order:
            if nodes[n]["op"] != "Const":
                continue
            v = consts.get(n)
            if v is None:
                raise KeyError(f"Const {n!r} has no weights in the manifest")
            if v.dtype == np.float32 and v.ndim >= 1 and v.size > 1:
                self._add_param(n, v, nodes)
            else:
                self.values[n] = v
        for n in self.steps:
            if n["op"] not in _OPS:
                raise NotImplementedError(f"TF op {n['op']!r} (node {n['name']!r}) is not supported")
        # after which step each computed value is no longer needed: forward frees it there, so a
        # batch holds a few maps at a time instead of every intermediate of the graph
        last: Dict[str, int] = {}
        for k, n in enumerate(self.steps):
            for i in n.get("input", []):
                last[_name(i)] = k
        computed = {st["name"] for st in self.steps}
        self.free_after: List[List[str]] = [[] for _ in self.steps]
        for name, k in last.items():
            if name not in self.outputs and name in computed:
                self.free_after[k].append(name)

    def _add_param(self, name: str, v: np.ndarray, nodes: dict) -> None:
        """Filters become torch layout once, here: Conv2D HWIO -> OIHW, depthwise HWCM -> (C*M)1HW;
        NHWC constant operands NCHW."""
        users = [n for n in self.steps if name in [_name(i) for i in n.get("input", [])]]
        ops = {u["op"] for u in users}
        t = torch.from_numpy(np.ascontiguousarray(v))
        if v.ndim == 4 and ops <= {"Conv2D", "_FusedConv2D"}:
            t = t.permute(3, 2, 0, 1)
        elif v.ndim == 4 and ops <= {"DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"}:
            kh, kw, c, m = v.shape
            t = t.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
        elif v.ndim == 1:
            pass                                    # biases; Mul/Add operands are viewed as [1, C, 1, 1] there
        elif v.ndim == 4:
            t = t.permute(0, 3, 1, 2)               # an NHWC constant operand of Mul/Add
        else:
            raise ValueError(f"Const {name!r} of shape {v.shape} used by {sorted(ops)}: no layout rule")
        key = name.replace("/", "__").replace(".", "_")
        self.keys[name] = key
        self.params[key] = nn.Parameter(t.contiguous().float())

    def _get(self, env: dict, ref: str):
        n = _name(ref)
        if n in env:
            return env[n]
        if n in self.keys:
            return self.params[self.keys[n]]
        if n in self.values:
            return self.values[n]
        raise KeyError(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env = {self.input_name: x}
        for k, node in enumerate(self.steps):
            if node["op"] != "Placeholder":
                env[node["name"]] = _OPS[node["op"]](self, node, [self._get(env, i) for i in node.get("input", [])
                                                                   if not i.startswith("^")])
            for name in self.free_after[k]:
                env.pop(name, None)
        outs = [env[o] for o in self.outputs]
        return outs[0] if len(outs) == 1 else outs


def _operand(v):
    """A Mul/Add operand in NCHW: 1-element Consts as floats, [C] vectors broadcast over channels
    (TF broadcasts them over NHWC's last axis)."""
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return float(v.reshape(-1)[0])
        v = torch.from_numpy(v.astype(np.float32))
    if isinstance(v, torch.Tensor) and v.dim() == 1 and v.numel() > 1:
        return v.view(1, -1, 1, 1)
    return v


def _conv(self, node, args, depthwise: bool):
    x, w = args[0], args[1]
    s = _attr(node, "strides", [1, 1, 1, 1])[1]
    d = _attr(node, "dilations", [1, 1, 1, 1])[1]
    if _attr(node, "data_format", "NHWC") != "NHWC":
        raise NotImplementedError(f"{node['name']}: data_format {_attr(node, 'data_format')}")
    k = int(w.shape[2])
    if _attr(node, "padding") == "SAME":
        x = same_pad(x, k, s, d)
    elif _attr(node, "padding") != "VALID":
        raise NotImplementedError(f"{node['name']}: padding {_attr(node, 'padding')}")
    y = F.conv2d(x, w, None, s, 0, d, groups=int(x.shape[1]) if depthwise else 1)
    fused = _attr(node, "fused_ops", [])
    for i, op in enumerate(fused):
        if op == "BiasAdd":
            y = y + args[2].view(1, -1, 1, 1)
        elif op in _ACTS:
            y = _ACTS[op](y)
        else:
            raise NotImplementedError(f"{node['name']}: fused op {op!r}")
    return y


def _binary(fn):
    def run(self, node, args):
        a, b = (_operand(v) for v in args)
        return fn(a, b)
    return run


def _mean(self, node, args):
    axes = [int(v) for v in np.asarray(args[1]).reshape(-1)]
    nchw = [{0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2}[a] for a in axes]
    return args[0].mean(nchw, keepdim=bool(_attr(node, "keep_dims", False)))


def _resize(self, node, args):
    size = [int(v) for v in np.asarray(args[1]).reshape(-1)]
    if self.native_size and self.input_size != self.native_size:   # same factor at another input size
        size = [round(size[0] * self.input_size[0] / self.native_size[0]),
                round(size[1] * self.input_size[1] / self.native_size[1])]
    return resize_bilinear_tf(args[0], size[0], size[1], bool(_attr(node, "align_corners", False)),
                              bool(_attr(node, "half_pixel_centers", False)))


def _concat(self, node, args):
    axis = int(np.asarray(args[-1]).reshape(-1)[0])
    return torch.cat(args[:-1], {3: 1, -1: 1, 1: 2, 2: 3, 0: 0}[axis])


_OPS = {
    "Placeholder": None,
    "_FusedConv2D": lambda self, n, a: _conv(self, n, a, False),
    "Conv2D": lambda self, n, a: _conv(self, n, a, False),
    "FusedDepthwiseConv2dNative": lambda self, n, a: _conv(self, n, a, True),
    "DepthwiseConv2dNative": lambda self, n, a: _conv(self, n, a, True),
    "Add": _binary(lambda a, b: a + b),
    "AddV2": _binary(lambda a, b: a + b),
    "Sub": _binary(lambda a, b: a - b),
    "Mul": _binary(lambda a, b: a * b),
    "Relu": lambda self, n, a: F.relu(a[0]),
    "Relu6": lambda self, n, a: a[0].clamp(0, 6),
    "Sigmoid": lambda self, n, a: torch.sigmoid(a[0]),
    "Identity": lambda self, n, a: a[0],
    "Mean": _mean,
    "ResizeBilinear": _resize,
    "ConcatV2": _concat,
}
