"""A `multidomain` classify export loads into torchvision's mobilenet_v3_small with
load_state_dict(strict=True) and gives pictor's logits: IO.safetensors holds the input batch x and
the logits pictor's MobileNetV3 computed from the same weights in eval mode.
usage: check_multidomain_export.py WEIGHTS.safetensors IO.safetensors WIDTH_MULT"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_np  # noqa: E402


def main(weights, io, width):
    sd = {k: torch.from_numpy(v) for k, v in safetensors_np.load(weights)[0].items()}
    t = {k: torch.from_numpy(v) for k, v in safetensors_np.load(io)[0].items()}
    model = torchvision.models.mobilenet_v3_small(num_classes=sd["classifier.3.weight"].shape[0],
                                                  width_mult=width)
    model.load_state_dict(sd, strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(t["x"])
    d = float((logits - t["logits"]).abs().max())
    print("check_multidomain_export: max |logit diff| %.3g (max |logit| %.3g)"
          % (d, float(logits.abs().max())))
    return 0 if d <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
