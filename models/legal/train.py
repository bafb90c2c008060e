"""Fine-tuning the charge classifier: resumable, time-budgeted, validated.

The loop is plain PyTorch (AdamW, a warm-up then constant learning rate, soft-target cross-entropy in float32)
so that a checkpoint can hold everything a resume needs: the adapter and head, the optimizer and scheduler
state, every random-number generator, the epoch and the number of batches of it already done, and the training
time spent so far. A run killed at any point continues from its last checkpoint with the same batches.

Head initialisation (LP-FT: linear probing, then fine-tuning). A fresh `score` head is random; on a CPU budget
of a few hundred optimizer steps most of them would go to teaching it the classes. So before fine-tuning, one
forward pass over the training subset (no backward: about half a training step's cost) collects the
pooled hidden states, a logistic regression is fitted on them, and its weights become the head. Fine-tuning
then starts from a head that already separates the classes, and adapts LoRA and head together. The probe's
features are saved as it goes, so an interrupted probe resumes too; its time counts against the budget.

Data order. The training subset (`limit`) is drawn round-robin over primary charges, so that a small subset
covers as many charges as the data has; each epoch keeps that order in windows, and inside a window examples
of similar length are batched together (length bucketing: dynamic padding stays small).

Output folder (`out_dir`, by default ARGUS_HOME/legal/classifier):
- the final classifier (`LegalClassifier.save`), written at the end of every epoch and when the time budget
  runs out, with `metrics.json`: validation measured on that saved model, and the case ids it used;
- `probe_features.pt`: the probe's features (kept until the run finishes);
- `checkpoint/`: the latest resumable state, written every `checkpoint_every` steps;
- `train_log.jsonl`: one line per optimizer step (loss, learning rate, seconds).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from models.legal.classifier import LegalClassifier
from models.legal.data import Case, load_cases, round_robin
from models.legal.labels import LabelSet, find_accu
from models.legal.scoring import charge_scores

CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "trainer_state.pt"
CONFIG_FILE = "train_config.json"
METRICS_FILE = "metrics.json"
LOG_FILE = "train_log.jsonl"
PROBE_FILE = "probe_features.pt"
BUCKET_WINDOW = 16  # batches per length-sorted window


# Defaults of `argus legal train` for options not given. On a GPU: the whole training split. On a CPU: the plan
# measured on a shared 2-core machine (docs/eval/legal.md): a round-robin subset, short inputs, a time budget.
GPU_PLAN = {"limit": None, "valid_limit": None, "max_tokens": 256, "epochs": 2, "time_budget_min": None}
CPU_PLAN = {"limit": 320, "valid_limit": 120, "max_tokens": 64, "epochs": 2, "time_budget_min": 85.0}


def default_plan() -> dict:
    return dict(GPU_PLAN if torch.cuda.is_available() else CPU_PLAN)


@dataclass
class TrainConfig:
    train_file: Path
    out_dir: Path
    base_model: str
    attn_implementation: str
    valid_file: Path | None = None
    max_tokens: int = 128
    batch_size: int = 8
    epochs: int = 1
    lr: float = 3e-4  # LoRA matrices
    head_lr: float = 3e-4  # the `score` head; raise it (e.g. 2e-3) when training a random head without the probe
    probe: bool = True  # initialise the head by a linear probe (see above)
    probe_c: float = 1.0  # inverse L2 strength of the probe's logistic regression
    warmup_steps: int = 10
    weight_decay: float = 0.0
    limit: int | None = None  # training cases (round-robin over charges); None: all
    valid_limit: int | None = None  # validation cases; None: all
    time_budget_min: float | None = None  # training time, summed over resumes; validation comes after
    checkpoint_every: int = 25
    seed: int = 0

    def identity(self) -> dict:
        """The fields a resumed run must share with the run that wrote the checkpoint."""
        keys = ("train_file", "base_model", "max_tokens", "batch_size", "lr", "head_lr", "warmup_steps", "limit", "seed",
                "probe", "probe_c")
        return {k: str(getattr(self, k)) for k in keys}


@dataclass
class TrainState:
    epoch: int = 0
    batches_done: int = 0  # of the current epoch
    global_step: int = 0
    train_seconds: float = 0.0
    probe_done: bool = False
    epoch_losses: list[float] = field(default_factory=list)


@dataclass
class TrainResult:
    out_dir: Path
    state: TrainState
    cases: int
    labels: int
    metrics: dict | None
    stopped_by: str  # "epochs" or "time budget"


# ---------------------------------------------------------------------------------------------- data order
def epoch_batches(lengths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """Index batches: windows of the given order, each sorted by length, cut into batches, shuffled within."""
    rng = random.Random(seed)
    window = batch_size * BUCKET_WINDOW
    batches: list[list[int]] = []
    for start in range(0, len(lengths), window):
        idx = sorted(range(start, min(start + window, len(lengths))), key=lambda i: lengths[i])
        chunk = [idx[i:i + batch_size] for i in range(0, len(idx), batch_size)]
        rng.shuffle(chunk)
        batches += chunk
    return batches


# ---------------------------------------------------------------------------------------------- checkpoints
def _rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def save_checkpoint(folder: Path, classifier: LegalClassifier, optimizer, scheduler, state: TrainState,
                    config: TrainConfig) -> None:
    tmp = folder.with_name(folder.name + ".tmp")
    classifier.save(tmp)
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": _rng_state(), "state": asdict(state)}, tmp / STATE_FILE)
    (tmp / CONFIG_FILE).write_text(json.dumps(config.identity(), indent=1), encoding="utf-8")
    # Replace the previous checkpoint only once the new one is complete.
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        folder.rename(old)
        tmp.rename(folder)
        _remove_tree(old)
    else:
        tmp.rename(folder)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _trainable_groups(classifier: LegalClassifier, config: TrainConfig) -> list[dict]:
    head, lora = [], []
    for name, param in classifier.model.named_parameters():
        if param.requires_grad:
            (head if "score" in name else lora).append(param)
    return [{"params": lora, "lr": config.lr}, {"params": head, "lr": config.head_lr}]


# ---------------------------------------------------------------------------------------------- the probe
def linear_probe(features: np.ndarray, targets: np.ndarray, c: float) -> np.ndarray:
    """(labels, hidden) head weights from a logistic regression on (cases, hidden) features.

    The head has no bias, so the regression has none either; features are divided by their standard deviation
    (not centred, which would need a bias) for a well-conditioned fit, and the weights divided back. Labels the
    probed cases never carry get the mean weight row: their logit is the mean logit, below the best one.
    """
    from sklearn.linear_model import LogisticRegression

    rows, cols = np.nonzero(targets)
    scale = features.std(axis=0) + 1e-6
    fit = LogisticRegression(C=c, fit_intercept=False, max_iter=1000)
    fit.fit(features[rows] / scale, cols, sample_weight=targets[rows, cols])
    coef = fit.coef_ if len(fit.classes_) > 2 else np.concatenate([-fit.coef_, fit.coef_]) / 2
    weight = np.empty((targets.shape[1], features.shape[1]), dtype=np.float32)
    weight[:] = (coef / scale).mean(axis=0)
    weight[fit.classes_] = coef / scale
    return weight


def _probe(classifier: LegalClassifier, sequences: Sequence[list[int]], targets: torch.Tensor, config: TrainConfig,
           state: TrainState, budget_s: float | None, log: Callable[[str], None],
           progress: Callable[[str, int, int], object] | None) -> None:
    """Collect features (resumably), fit the probe, set the head. Adds the time spent to `state`."""
    path = config.out_dir / PROBE_FILE
    saved = torch.load(path) if path.is_file() else {"features": [], "seconds": 0.0}
    chunks: list[torch.Tensor] = saved["features"]
    seconds = saved["seconds"]
    done = sum(len(c) for c in chunks)
    log(f"linear probe: features of {len(sequences)} cases" + (f" (resuming at {done})" if done else ""))
    for n, start in enumerate(range(done, len(sequences), config.batch_size), start=1):
        if budget_s is not None and state.train_seconds + seconds >= budget_s:
            log(f"time budget reached during the probe: fitting it on {done} cases")
            break
        started = time.perf_counter()
        batch = classifier.encoder.collate(sequences[start:start + config.batch_size])
        chunks.append(classifier.features(batch).cpu())
        seconds += time.perf_counter() - started
        done += len(chunks[-1])
        if progress is not None:
            progress("probe", done, len(sequences))
        if n % config.checkpoint_every == 0:
            torch.save({"features": chunks, "seconds": seconds}, path)
    torch.save({"features": chunks, "seconds": seconds}, path)
    features = torch.cat(chunks).numpy()
    weight = linear_probe(features, targets[: len(features)].numpy(), config.probe_c)
    classifier.set_head(torch.from_numpy(weight))
    state.train_seconds += seconds
    state.probe_done = True
    log(f"linear probe fitted on {len(features)} cases in {seconds / 60:.1f} min")


# ---------------------------------------------------------------------------------------------- validation
def validate(classifier: LegalClassifier, cases: Sequence[Case], batch_size: int) -> dict:
    predicted = classifier.predict([c.fact for c in cases], batch_size=batch_size)
    scores = charge_scores(predicted, [c.charges for c in cases])
    return {"accuracy": scores.accuracy, "micro_f1": scores.micro_f1, "macro_f1": scores.macro_f1,
            "n": len(cases)}


def validation_cases(config: TrainConfig) -> list[Case]:
    if config.valid_file is None:
        return []
    cases = load_cases(config.valid_file).cases
    return round_robin(cases, config.seed)[: config.valid_limit] if config.valid_limit else cases


# ---------------------------------------------------------------------------------------------- the loop
def train(config: TrainConfig, *, resume: bool = True, progress: Callable[[str, int, int], object] | None = None,
          log: Callable[[str], None] = print) -> TrainResult:
    """Train (or continue training) the classifier described by `config`; see the module docstring."""
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)

    data = load_cases(config.train_file)
    log(data.summary())
    accu = find_accu(config.train_file)
    labels, unknown = LabelSet.build(accu, data.cases)
    if unknown:
        log(f"charges missing from {accu}, added to the label set: {', '.join(unknown)}")
    subset = round_robin(data.cases, config.seed)
    subset = subset[: config.limit] if config.limit else subset
    valid = validation_cases(config)
    log(f"training on {len(subset)} of {len(data.cases)} cases, {len(labels)} labels, "
        f"{len(valid)} validation cases, max {config.max_tokens} tokens")

    out_dir = config.out_dir
    checkpoint = out_dir / CHECKPOINT_DIR
    state = TrainState()
    resuming = resume and (checkpoint / STATE_FILE).is_file()
    if resuming:
        saved_identity = json.loads((checkpoint / CONFIG_FILE).read_text(encoding="utf-8"))
        if saved_identity != config.identity():
            raise ValueError(f"{checkpoint} was written by a different training configuration "
                             f"({saved_identity}); pass --restart to start over")
        classifier = LegalClassifier.load(checkpoint, config.attn_implementation, base_model=config.base_model,
                                          trainable=True)
    else:
        classifier = LegalClassifier.create(config.base_model, labels, config.max_tokens, config.attn_implementation)
    if classifier.labels != labels:
        raise ValueError("the checkpoint's label set differs from the data's")

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    classifier.model.to(device)
    optimizer = torch.optim.AdamW(_trainable_groups(classifier, config), weight_decay=config.weight_decay)
    warmup = max(1, config.warmup_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    if resuming:
        saved = torch.load(checkpoint / STATE_FILE, weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        _set_rng_state(saved["rng"])
        state = TrainState(**{k: v for k, v in saved["state"].items() if k in TrainState.__dataclass_fields__})
        log(f"resuming at epoch {state.epoch + 1}, batch {state.batches_done}, step {state.global_step} "
            f"({state.train_seconds / 60:.1f} min trained)")
    budget_s = config.time_budget_min * 60 if config.time_budget_min is not None else None
    if state.epoch >= config.epochs or (budget_s is not None and state.train_seconds >= budget_s):
        log("this configuration already trained for its epochs or time budget (raise --epochs or --time-budget)")
        return TrainResult(out_dir, state, len(subset), len(labels), _read_metrics(out_dir),
                           "epochs" if state.epoch >= config.epochs else "time budget")

    targets = torch.from_numpy(labels.targets(subset))
    sequences = [classifier.encoder.ids(c.fact) for c in subset]
    stopped_by = "epochs"
    metrics = None
    out_dir.mkdir(parents=True, exist_ok=True)
    log_file = (out_dir / LOG_FILE).open("a", encoding="utf-8")
    # Autocast on GPUs only: this code's CPUs have no fast bf16 and fp32 is both faster and exact there.
    if device.type == "cuda":
        autocast = torch.autocast("cuda", dtype=torch.bfloat16)
    else:
        autocast = torch.autocast("cpu", enabled=False)

    try:
        if config.probe and not state.probe_done:
            _probe(classifier, sequences, targets, config, state, budget_s, log, progress)
            save_checkpoint(checkpoint, classifier, optimizer, scheduler, state, config)
        while state.epoch < config.epochs:
            batches = epoch_batches([len(s) for s in sequences], config.batch_size, config.seed + state.epoch)
            classifier.model.train()
            for rows in batches[state.batches_done:]:
                if budget_s is not None and state.train_seconds >= budget_s:
                    stopped_by = "time budget"
                    break
                started = time.perf_counter()
                batch = classifier.encoder.collate([sequences[i] for i in rows])
                with autocast:
                    logits = classifier.forward(batch)
                loss = torch.nn.functional.cross_entropy(logits.float(), targets[rows].to(device))
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)

                state.batches_done += 1
                state.global_step += 1
                seconds = time.perf_counter() - started
                state.train_seconds += seconds
                state.epoch_losses.append(loss.item())
                record = {"step": state.global_step, "epoch": state.epoch + 1, "loss": state.epoch_losses[-1],
                          "lr": scheduler.get_last_lr()[0], "seconds": round(seconds, 3)}
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
                if progress is not None:
                    progress(f"epoch {state.epoch + 1}", state.batches_done, len(batches))
                if state.global_step % config.checkpoint_every == 0:
                    save_checkpoint(checkpoint, classifier, optimizer, scheduler, state, config)
            if stopped_by == "time budget":
                break
            state.epoch += 1
            state.batches_done = 0
            metrics = _finish_epoch(classifier, valid, config, state, log)
            state.epoch_losses = []
            save_checkpoint(checkpoint, classifier, optimizer, scheduler, state, config)
        if stopped_by == "time budget":
            log(f"time budget of {config.time_budget_min} min reached at epoch {state.epoch + 1}, "
                f"batch {state.batches_done} of {len(batches)}")
            metrics = _finish_epoch(classifier, valid, config, state, log)
            save_checkpoint(checkpoint, classifier, optimizer, scheduler, state, config)
        else:  # the last epoch's checkpoint above already holds this state
            (out_dir / PROBE_FILE).unlink(missing_ok=True)
    finally:
        log_file.close()
    return TrainResult(out_dir, state, len(subset), len(labels), metrics, stopped_by)


def _finish_epoch(classifier: LegalClassifier, valid: Sequence[Case], config: TrainConfig, state: TrainState,
                  log: Callable[[str], None]) -> dict:
    """Save the classifier, then validate that saved state and write metrics.json beside it."""
    classifier.save(config.out_dir)
    mean_loss = float(np.mean(state.epoch_losses)) if state.epoch_losses else None
    metrics: dict = {"epoch": state.epoch + (1 if state.batches_done else 0), "global_step": state.global_step,
                     "train_seconds": round(state.train_seconds, 1), "train_loss": mean_loss,
                     "max_tokens": config.max_tokens, "limit": config.limit}
    if valid:
        started = time.perf_counter()
        metrics["validation"] = validate(classifier, valid, config.batch_size)
        metrics["validation"].update({"file": str(config.valid_file), "case_ids": [c.id for c in valid],
                                      "seconds": round(time.perf_counter() - started, 1)})
        v = metrics["validation"]
        log(f"validation after step {state.global_step}: accuracy {v['accuracy']:.3f}, "
            f"micro-F1 {v['micro_f1']:.3f}, macro-F1 {v['macro_f1']:.3f} (n={v['n']})")
    (config.out_dir / METRICS_FILE).write_text(json.dumps(metrics, ensure_ascii=False, indent=1), encoding="utf-8")
    classifier.model.train()
    return metrics


def _read_metrics(out_dir: Path) -> dict | None:
    path = out_dir / METRICS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
