"""Would fine-tuning the sentence encoder make the subjectivity classifier transfer better?

The shipped classifier is a logistic regression on *frozen* all-MiniLM-L6-v2 states. This
experiment fine-tunes the whole encoder (mean of the per-layer mean pools, as the shipped
features, then dropout and a linear head; class-weighted cross-entropy, AdamW, linear warm-up
and decay, batch 16) on NewsSD-ENG train, chooses a threshold on NewsSD-ENG val, and prints,
per seed, AUC and macro-F1 (at 0.5, at the val threshold, and the best at any threshold) on
NewsSD-ENG test and on ROWS. Nothing is chosen on ROWS. Results: docs/measurements.md
(fine-tuning overfits NewsSD's distribution: better on its test split, worse on CheckThat).

PyTorch and transformers are not dependencies of the project; install them in a separate
environment (transformers 5 pulls a huggingface-hub that litellm refuses). The script also
imports the project's NewsSD loader, threshold rule and metrics, which need only numpy:

    python -m venv /tmp/ft && /tmp/ft/bin/pip install torch==2.13.0 "transformers<5"
    /tmp/ft/bin/python bench/subjectivity_finetune.py ROWS [--epochs 4 --lr 3e-5 --seeds 0 1]

ROWS: {"id","text","label"} lines (label true = subjective), e.g. the CheckThat! 2024
English test set (not committed). The encoder is read from `newsaudit setup-local
--embeddings-only`'s folder; about 100 s per seed on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.evaluation.metrics import macro_f1, roc_auc  # noqa: E402
from train.subjectivity import best_threshold, load  # noqa: E402

ENCODER = Path.home() / ".cache" / "newsaudit" / "models" / "all-minilm-l6-v2"
BATCH = 16


def main() -> None:
    import torch
    from transformers import BertModel, PreTrainedTokenizerFast

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT / "pipeline" / "data" / "newssd-eng")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--freeze", type=int, default=0, help="freeze embeddings + N layers")
    args = parser.parse_args()
    torch.set_num_threads(2)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(ENCODER / "tokenizer.json"))
    tokenizer.pad_token = "[PAD]"

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = BertModel.from_pretrained(str(ENCODER), add_pooling_layer=False)
            self.drop = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, ids: Any, mask: Any) -> Any:
            out = self.bert(input_ids=ids, attention_mask=mask, output_hidden_states=True)
            m = mask.unsqueeze(-1).float()
            pools = [(h * m).sum(1) / m.sum(1) for h in out.hidden_states[1:]]
            return self.head(self.drop(torch.stack(pools).mean(0))).squeeze(-1)

    def batches(texts: list[str], size: int) -> Any:
        for i in range(0, len(texts), size):
            enc = tokenizer(
                texts[i : i + size], padding=True, truncation=True, max_length=128,
                return_tensors="pt",
            )  # fmt: skip
            yield i, enc["input_ids"], enc["attention_mask"]

    def predict(model: Classifier, texts: list[str]) -> np.ndarray:
        model.eval()
        with torch.no_grad():
            return np.concatenate(
                [torch.sigmoid(model(ids, mask)).numpy() for _, ids, mask in batches(texts, 64)]
            )

    def train(texts: list[str], y: np.ndarray, seed: int) -> Classifier:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        model = Classifier()
        frozen = ["embeddings."] + [f"encoder.layer.{k}." for k in range(args.freeze)]
        for name, p in model.bert.named_parameters():
            p.requires_grad = not (args.freeze and any(name.startswith(f) for f in frozen))
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
        steps = args.epochs * -(-len(texts) // BATCH)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps)
        )
        pos_weight = torch.tensor((1 - y.mean()) / y.mean())
        for _ in range(args.epochs):
            model.train()
            order = rng.permutation(len(texts))
            shuffled = [texts[i] for i in order]
            labels = torch.tensor(y[order].astype(np.float32))
            for i, ids, mask in batches(shuffled, BATCH):
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    model(ids, mask), labels[i : i + BATCH], pos_weight=pos_weight
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        return model

    train_x, train_y, _ = load(args.data, "train")
    val_x, val_y, _ = load(args.data, "val")
    other = [json.loads(line) for line in args.rows.read_text().splitlines() if line.strip()]
    sets = {
        "NewsSD test": load(args.data, "test")[:2],
        args.rows.stem: ([r["text"] for r in other], np.array([bool(r["label"]) for r in other])),
    }
    for seed in args.seeds:
        start = time.monotonic()
        model = train(train_x, train_y, seed)
        val_p = predict(model, val_x)
        threshold = best_threshold(val_y, val_p)
        line: dict[str, Any] = {"seed": seed, "seconds": round(time.monotonic() - start)}
        line["val threshold"] = threshold
        for name, (texts, y) in sets.items():
            p = predict(model, texts)
            line[name] = {
                "auc": round(roc_auc(y, p), 3),
                "macro_f1@0.5": round(macro_f1(y, p >= 0.5), 3),
                "macro_f1@val": round(macro_f1(y, p >= threshold), 3),
                "best": round(max(macro_f1(y, p >= t) for t in np.arange(0.1, 0.9, 0.01)), 3),
            }
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
