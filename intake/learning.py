"""The classifier learned from the office's own cases (issue 14, item 3).

A text — summary, content and place — is turned into TF-IDF weights of its characters and
character pairs (Chinese needs no segmentation for that), and three linear models
(logistic regression fitted by SGD, so that they give probabilities and train on 100 000
cases in well under a minute) read it: one for the subcategory, one for the department
that finally answered, one for the tier.

The examples are the office's closed cases; the department label is the lead department
the case had when it was answered, so a case returned and re-dispatched teaches the
department that took it, not the one that sent it back. Below TRIAGE_MIN_OWN_CASES own
cases the shipped corpus (intake/corpus/*.jsonl) completes them.

Every trained model is kept (`TriageModel`), with its held-out scores. The split is a hash
of the example's id (a repeat hashed by the case it repeats, so the two never fall on
different sides), the same for every training: a new model and the active one are scored
on the same held-out cases, neither of them has seen, and the new one is taken only if it
is not worse (department top-1, tier accuracy, T1 recall). The safety phrases
(intake.triage) floor the tier elsewhere; nothing here lowers them.

`predict()` loads the active model once per process and reloads it when another one
becomes active (its id is read through the cache, at most every TRIAGE_RELOAD_SECONDS).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Hashable, Iterable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, Category, Department, State

from .triage import normalize

logger = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
CLOSED_STATES = (State.REPLIED, State.VISITED, State.ARCHIVED)
TIERS = ("T1", "T2", "T3", "T4")
FORMAT_VERSION = 1
ACTIVE_CACHE_KEY = "intake:triage:active-model"
TOP = 3
T1_WEIGHT = 3  # on held-out text: T1 recall 75 % → 95 %, tier accuracy 89 % → 92 %


@dataclass(frozen=True)
class Prediction:
    categories: list[tuple[int, float]]  # subcategory ids, most likely first
    departments: list[tuple[int, float]]  # department ids
    tiers: list[tuple[str, float]]  # "T1".."T4"
    label: str  # which model said it


@dataclass(frozen=True)
class Example:
    key: str  # "case:XF-2026-000012", "corpus:a001": what the split hashes (a repeat:
    # its original's)
    text: str
    category: Hashable | None
    department: Hashable | None
    tier: str | None


class NothingToLearn(Exception):
    """Neither closed cases nor corpus rows that map to this office's categories and
    departments: there is nothing to train on."""


# ---------------------------------------------------------------- the examples
def case_text(*parts: str) -> str:
    return normalize(" ".join(part or "" for part in parts))


def own_examples() -> list[Example]:
    """The office's closed cases. A case's lead department cannot change once it is
    replied (改派 is for working states), so it is the one that answered. Split by the
    case number (the original's, for a repeat or a merged case): stable for a case."""
    rows = list(
        Case.objects.filter(state__in=CLOSED_STATES)
        .values_list("number", "summary", "content", "place", "category_id",
                     "category__parent_id", "lead_department_id", "tier__code",
                     "earlier_case__number", "merged_into__number")
        .order_by("pk"))
    parent = {number: earlier or merged
              for number, *_, earlier, merged in rows if earlier or merged}
    examples = []
    for number, summary, content, place, category, category_parent, department, tier, *_ \
            in rows:
        examples.append(Example(
            key=f"case:{_root(number, parent)}",
            text=case_text(summary, content, place),
            # Only a subcategory is a label: a case filed under a top category says less.
            category=category if category_parent else None,
            department=department, tier=tier or None))
    return examples


def corpus_rows(directory: Path | None = None) -> list[dict]:
    """Every line of the shipped corpus files, in file order; a broken line is skipped."""
    rows = []
    for path in sorted((directory or CORPUS_DIR).glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                logger.warning("corpus %s:%s is not JSON; skipped", path.name, number)
                continue
            if isinstance(row, dict) and row.get("id"):
                rows.append(row)
    return rows


def corpus_examples(rows: Sequence[dict] | None = None) -> list[Example]:
    """The corpus rows that map to this office: the subcategory by name under its named
    top category, the department by code. A row that maps to neither is skipped."""
    rows = corpus_rows() if rows is None else rows
    subcategories = {
        (parent, name): pk for pk, name, parent in
        Category.objects.filter(parent__isnull=False, is_active=True)
        .values_list("pk", "name", "parent__name")}
    departments = dict(Department.objects.filter(is_active=True).values_list("code", "pk"))
    parent = {str(row["id"]): str(row["repeat_of"]) for row in rows if row.get("repeat_of")}
    examples = []
    for row in rows:
        category = subcategories.get((row.get("category"), row.get("subcategory")))
        department = departments.get(row.get("department"))
        tier = row.get("tier") if row.get("tier") in TIERS else None
        if category is None and department is None:
            continue
        examples.append(Example(
            key=f"corpus:{_root(str(row['id']), parent)}",
            text=case_text(row.get("summary", ""), row.get("content", ""), row.get("place", "")),
            category=category, department=department, tier=tier))
    return examples


def _root(key, parent: dict):
    seen = {key}
    while key in parent and parent[key] not in seen:
        key = parent[key]
        seen.add(key)
    return key


def is_held_out(example: Example) -> bool:
    """One in five, by a hash of the key: the same cases for every training."""
    digest = hashlib.sha256(example.key.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 5 == 0


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    train, held_out = [], []
    for example in examples:
        (held_out if is_held_out(example) else train).append(example)
    return train, held_out


# ---------------------------------------------------------------- the classifier
class Classifier:
    """The fitted vectoriser and the three label models; what is stored, as joblib."""

    FIELDS = ("category", "department", "tier")

    def __init__(self, vectorizer, models: dict):
        self.vectorizer = vectorizer
        self.models = models  # field → {"classes": [...], "estimator": SGD | None}

    def probabilities(self, texts: Sequence[str]) -> dict[str, list[list[tuple]]]:
        """For each field, for each text, every (label, probability), most likely first."""
        import numpy as np

        matrix = self.vectorizer.transform(texts)
        answers = {}
        for name in self.FIELDS:
            model = self.models.get(name)
            if model is None:
                answers[name] = [[] for _ in texts]
                continue
            classes = model["classes"]
            if model["estimator"] is None:  # one class only
                answers[name] = [[(classes[0], 1.0)] for _ in texts]
                continue
            probabilities = model["estimator"].predict_proba(matrix)
            order = np.argsort(-probabilities, axis=1)
            answers[name] = [
                [(classes[index], float(row[index])) for index in ranking]
                for row, ranking in zip(probabilities, order)]
        return answers


def fit(examples: Sequence[Example]) -> Classifier:
    """Fit the vectoriser on every example's text and a model per label on the examples
    that carry it. Probabilities from log-loss SGD (a logistic regression); the tier
    model weighs the classes by their rarity, so that the few T1 cases count."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import SGDClassifier

    if not examples:
        raise NothingToLearn
    vectorizer = TfidfVectorizer(
        analyzer="char", ngram_range=(1, 2), sublinear_tf=True,
        max_features=settings.TRIAGE_MAX_FEATURES, dtype=np.float32)
    matrix = vectorizer.fit_transform([example.text for example in examples])
    models = {}
    for name in Classifier.FIELDS:
        rows = [i for i, example in enumerate(examples) if getattr(example, name) is not None]
        if not rows:
            models[name] = None
            continue
        labels = [getattr(examples[i], name) for i in rows]
        classes = sorted(set(labels), key=str)
        if len(classes) == 1:
            models[name] = {"classes": classes, "estimator": None}
            continue
        estimator = SGDClassifier(
            loss="log_loss", alpha=3e-5, random_state=0, **_passes(len(rows)),
            class_weight=_tier_weights(labels) if name == "tier" else None,
            n_jobs=settings.TRIAGE_JOBS)
        estimator.fit(matrix[rows], np.asarray(labels))
        # Half the bytes to store and to load, the same rankings.
        estimator.coef_ = estimator.coef_.astype(np.float32)
        models[name] = {"classes": [label.item() for label in estimator.classes_],
                        "estimator": estimator}
    return Classifier(vectorizer, models)


def _tier_weights(labels: Sequence[str]) -> dict[str, float]:
    """Each tier weighed by its rarity, and an emergency three times more: a T1 case
    taken for T3 costs a life, a T3 case taken for T1 a phone call."""
    counts = {tier: labels.count(tier) for tier in set(labels)}
    weights = {tier: len(labels) / (len(counts) * count) for tier, count in counts.items()}
    if "T1" in weights:
        weights["T1"] *= T1_WEIGHT
    return weights


def _passes(examples: int) -> dict:
    """How long SGD runs. A large history converges in a few passes and stops on its own;
    a small office's few hundred cases need many more updates than early stopping (which
    sees little change from one short pass to the next) would give them."""
    if examples >= 10_000:
        return {"max_iter": 50, "tol": 1e-4}
    return {"max_iter": min(1000, max(50, 50_000 // max(examples, 1))), "tol": None}


def score(classifier: Classifier, held_out: Sequence[Example]) -> dict[str, float | None]:
    """Held-out figures (0-1; None where no held-out example carries the label)."""
    if not held_out:
        return {name: None for name in METRICS}
    answers = classifier.probabilities([example.text for example in held_out])

    def top(name: str, k: int) -> float | None:
        hits = [getattr(example, name) in [label for label, _probability in ranked[:k]]
                for example, ranked in zip(held_out, answers[name])
                if getattr(example, name) is not None]
        return sum(hits) / len(hits) if hits else None

    t1 = [ranked[:1] and ranked[0][0] == "T1"
          for example, ranked in zip(held_out, answers["tier"]) if example.tier == "T1"]
    return {
        "tier_accuracy": top("tier", 1),
        "t1_recall": sum(map(bool, t1)) / len(t1) if t1 else None,
        "category_top1": top("category", 1), "category_top3": top("category", 3),
        "department_top1": top("department", 1), "department_top3": top("department", 3),
    }


METRICS = ("tier_accuracy", "t1_recall", "category_top1", "category_top3",
           "department_top1", "department_top3")
# What decides whether a new model replaces the active one: none of these may drop.
DECIDING = ("department_top1", "tier_accuracy", "t1_recall")


def dumps(classifier: Classifier) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump({"version": FORMAT_VERSION, "vectorizer": classifier.vectorizer,
                 "models": classifier.models}, buffer, compress=3)
    return buffer.getvalue()


def loads(data: bytes) -> Classifier:
    import joblib

    stored = joblib.load(io.BytesIO(bytes(data)))
    if stored.get("version") != FORMAT_VERSION:
        raise ValueError(f"triage model format {stored.get('version')} is not {FORMAT_VERSION}")
    return Classifier(stored["vectorizer"], stored["models"])


# ---------------------------------------------------------------- training
def train(*, now: datetime | None = None) -> "TriageModel":  # noqa: F821 - models below
    """Train on the closed cases (and the corpus below the minimum), score on the held-out
    split, keep the model, and make it active unless it is worse than the active one on
    the same held-out cases."""
    from .models import TriageModel, TriageSource

    started = time.perf_counter()
    own = own_examples()
    corpus: list[Example] = []
    if len(own) < settings.TRIAGE_MIN_OWN_CASES:
        corpus = corpus_examples()
    examples = own + corpus
    if not examples:
        raise NothingToLearn
    source = (TriageSource.OWN if not corpus else
              TriageSource.CORPUS if not own else TriageSource.MIXED)
    train_set, held_out = split(examples)
    classifier = fit(train_set or examples)
    figures = score(classifier, held_out)
    record = TriageModel(
        trained_at=now or timezone.now(), source=source, own_cases=len(own),
        corpus_rows=len(corpus), train_size=len(train_set), held_out_size=len(held_out),
        training_seconds=round(time.perf_counter() - started, 2), fitted=dumps(classifier),
        **figures)
    with transaction.atomic():
        active = TriageModel.objects.select_for_update().filter(is_active=True).first()
        reason = _worse_than(record, active, held_out) if active else ""
        record.kept_reason = reason
        record.compared_with = active
        record.save()
        if not reason:
            try:
                with transaction.atomic():
                    _make_active(record)
            except IntegrityError:  # another training became active meanwhile
                record.kept_reason = _("另一次训练同时生效，本模型未启用。")
                record.save(update_fields=["kept_reason"])
    if record.is_active:
        _announce()
    _drop_old_bytes()
    logger.info("triage model %s trained: %s", record.pk, record.label)
    return record


def _worse_than(record, active, held_out: Sequence[Example]) -> str:
    """Why the new model is not taken ("" when it is): the active model, scored on the
    new model's held-out cases, does better on one of the deciding figures."""
    try:
        theirs = score(loads(active.fitted), held_out)
    except Exception:  # noqa: BLE001 - a model that no longer loads is no rival
        logger.warning("active triage model %s does not load", active.pk, exc_info=True)
        return ""
    record.comparison = {name: theirs[name] for name in METRICS}
    if not held_out:
        return _("没有留出样本，无法与当前模型比较。")
    worse = []
    for name in DECIDING:
        ours, current = getattr(record, name), theirs[name]
        if ours is not None and current is not None and ours < current:
            worse.append(_("%(metric)s %(ours).1f%% 低于当前模型的 %(theirs).1f%%") % {
                "metric": metric_label(name), "ours": ours * 100, "theirs": current * 100})
    return "；".join(worse)


def metric_label(name: str) -> str:
    from .models import TriageModel

    return str(TriageModel._meta.get_field(name).verbose_name)


def _make_active(record) -> None:
    from .models import TriageModel

    TriageModel.objects.filter(is_active=True).exclude(pk=record.pk).update(is_active=False)
    record.is_active = True
    record.activated_at = timezone.now()
    record.kept_reason = ""
    record.save(update_fields=["is_active", "activated_at", "kept_reason"])


def _drop_old_bytes() -> None:
    """Every model's row stays (its date, data and figures); the fitted bytes only of the
    active one and the TRIAGE_KEEP_FITTED newest, which the administrator may go back to."""
    from .models import TriageModel

    newest = TriageModel.objects.values_list("pk", flat=True)[:settings.TRIAGE_KEEP_FITTED]
    (TriageModel.objects.filter(is_active=False).exclude(pk__in=list(newest))
     .exclude(fitted=b"").update(fitted=b""))


def activate(*, model_id: int) -> "TriageModel":  # noqa: F821
    """The administrator makes a kept model the one in use."""
    from .models import TriageModel

    with transaction.atomic():
        list(TriageModel.objects.select_for_update().filter(is_active=True))
        record = TriageModel.objects.select_for_update().get(pk=model_id)
        if not record.fitted:
            raise ValidationError(_("这个模型只保留了成绩，模型数据已按保留数量删除，不能再启用。"))
        if not record.is_active:
            _make_active(record)
    _announce()
    return record


def _announce() -> None:
    """The active model changed: this process reads it again at once, the others when
    the transaction commits (a shared cache) or within TRIAGE_RELOAD_SECONDS."""
    cache.delete(ACTIVE_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(ACTIVE_CACHE_KEY))


# ---------------------------------------------------------------- predicting
_loaded: tuple[int, Classifier, str] | None = None
_loading = threading.Lock()


def active_model_id() -> int | None:
    """The active model's id, through the cache for a few seconds: every process sees a
    change within TRIAGE_RELOAD_SECONDS (at once with a shared cache)."""
    from .models import TriageModel

    model_id = cache.get(ACTIVE_CACHE_KEY)
    if model_id is None:
        with transaction.atomic():  # inside an act, a failed read rolls back only itself
            model_id = (TriageModel.objects.filter(is_active=True)
                        .values_list("pk", flat=True).first()) or 0
        cache.set(ACTIVE_CACHE_KEY, model_id, settings.TRIAGE_RELOAD_SECONDS)
    return model_id or None


def _classifier() -> tuple[Classifier, str] | None:
    global _loaded
    model_id = active_model_id()
    if model_id is None:
        return None
    loaded = _loaded
    if loaded is not None and loaded[0] == model_id:
        return loaded[1], loaded[2]
    from .models import TriageModel

    with _loading:
        if _loaded is not None and _loaded[0] == model_id:
            return _loaded[1], _loaded[2]
        with transaction.atomic():  # inside an act, a failed read rolls back only itself
            record = TriageModel.objects.filter(pk=model_id).first()
        if record is None:
            cache.delete(ACTIVE_CACHE_KEY)
            return None
        _loaded = (model_id, loads(record.fitted), record.label)
        return _loaded[1], _loaded[2]


def predict(text: str) -> Prediction | None:
    """The active model's top three subcategories, departments and tiers for a text, or
    None when there is no text or no usable model."""
    text = normalize(text)
    if not text:
        return None
    found = _classifier()
    if found is None:
        return None
    classifier, label = found
    answers = classifier.probabilities([text])

    def best(name: str) -> list[tuple]:
        return [(value, round(probability, 4)) for value, probability in answers[name][0][:TOP]]

    return Prediction(categories=best("category"), departments=best("department"),
                      tiers=best("tier"), label=label)


def warm() -> None:
    """Load scikit-learn and the active model (or the corpus vectoriser) now, so that the
    first registration a process serves does not wait a second or two for them. Called
    when a web or worker process starts; a database not yet migrated is no error."""
    import logging

    try:
        predict("燃气泄漏 小区停水")
        similarities("小区停水", ["小区停水"])
    except Exception:  # noqa: BLE001 - a process starts even when warming fails
        logging.getLogger(__name__).warning("triage model not warmed", exc_info=True)
    finally:
        from django.db import connection

        connection.close()  # the process's own connection opens with its first request


def forget() -> None:
    """Drop the model this process holds (tests; after a restore of the database)."""
    global _loaded
    _loaded = None
    cache.delete(ACTIVE_CACHE_KEY)


# ---------------------------------------------------------------- repeats (item 6)
# A repeat is scored on the classifier's own text representation (character and
# character-pair TF-IDF), with the place and the petitioner: 0-100, shown from
# REPEAT_MIN_SIMILARITY. A re-told matter shares a fifth to a third of its weighted
# characters with the original, a different matter on the same topic a tenth (corpus).
REPEAT_TEXT_FULL = 0.5  # a text cosine of this much counts in full
REPEAT_WEIGHTS = {"text": 60, "place": 25, "same_petitioner": 20, "same_name": 10}
_fallback: list = []
_fallback_lock = threading.Lock()


def _text_vectorizer():
    """The active model's vectoriser; with none, one fitted once per process on the
    shipped corpus (the same kind: characters and character pairs, sublinear TF-IDF)."""
    found = _classifier()
    if found is not None:
        return found[0].vectorizer
    if not _fallback:
        with _fallback_lock:
            if not _fallback:
                import numpy as np
                from sklearn.feature_extraction.text import TfidfVectorizer

                texts = [case_text(row.get("summary", ""), row.get("content", ""),
                                   row.get("place", "")) for row in corpus_rows()]
                vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2),
                                             sublinear_tf=True, dtype=np.float32)
                vectorizer.fit(texts or ["。"])
                _fallback.append(vectorizer)
    return _fallback[0]


def vectorize(texts: Sequence[str]):
    """The texts' TF-IDF rows (L2-normalised, a sparse matrix) in the triage model's
    representation: their products are cosine similarities."""
    return _text_vectorizer().transform([normalize(text) for text in texts])


def text_similarity(a: str, b: str) -> float:
    """Cosine similarity (0-1) of two texts in that representation."""
    if not normalize(a) or not normalize(b):
        return 0.0
    matrix = vectorize([a, b])
    return float(matrix[0].multiply(matrix[1]).sum())


def similarities(text: str, others: Sequence[str]) -> list[float]:
    """One text's cosine with each of the others, in one transform."""
    if not others:
        return []
    if not normalize(text):
        return [0.0] * len(others)
    matrix = vectorize([text, *others])
    return [float(value) for value in (matrix[1:] @ matrix[0].T).toarray().ravel()]


def similarities_of(*groups: tuple[str, Sequence[str]]) -> list[list[float]]:
    """similarities(text, others) for each (text, others), all in one transform (the
    repeat check's wording and places: one pass over the vectoriser instead of two)."""
    texts, spans = [], []
    for text, others in groups:
        if others and normalize(text):
            spans.append((len(texts), len(others)))
            texts += [text, *others]
        else:
            spans.append(None)
    matrix = vectorize(texts) if texts else None
    answers = []
    for (_text, others), span in zip(groups, spans):
        if span is None:
            answers.append([0.0] * len(others))
            continue
        start, count = span
        rows = matrix[start + 1:start + 1 + count] @ matrix[start].T
        answers.append([float(value) for value in rows.toarray().ravel()])
    return answers


def repeat_score(text_cosine: float, place_cosine: float = 0.0, *,
                 same_petitioner: bool = False, same_name: bool = False) -> int:
    """0-100: the wording (up to 60), the place (up to 25), the same phone or ID number
    (20) or else the same name (10). The place or the person alone stays below the
    display threshold: it takes the wording to call a case a repeat."""
    weights = REPEAT_WEIGHTS
    score = (weights["text"] * min(1.0, max(0.0, text_cosine) / REPEAT_TEXT_FULL)
             + weights["place"] * min(1.0, max(0.0, place_cosine)))
    if same_petitioner:
        score += weights["same_petitioner"]
    elif same_name:
        score += weights["same_name"]
    return min(100, round(score))


def repeat_figures(rows: Sequence[dict] | None = None,
                   threshold: int | None = None) -> dict[str, float | int]:
    """On the corpus: for each re-told line (`repeat_of`), whether its original scores
    highest among the other lines of its subcategory (first_rank); for each line, whether
    a different matter of its subcategory (not of its repeat chain) reaches the threshold
    (false_alarm: a case the queue would flag wrongly), and the share of such pairs
    (pair_false_alarm); and the share of repeats whose original reaches it (shown)."""
    import numpy as np

    rows = corpus_rows() if rows is None else list(rows)
    threshold = settings.REPEAT_MIN_SIMILARITY if threshold is None else threshold
    texts = vectorize([f"{row.get('summary', '')} {row.get('content', '')}" for row in rows])
    places = vectorize([row.get("place", "") for row in rows])
    text_cos = (texts @ texts.T).toarray()
    place_cos = (places @ places.T).toarray()
    raw = (REPEAT_WEIGHTS["text"] * np.minimum(1.0, text_cos / REPEAT_TEXT_FULL)
           + REPEAT_WEIGHTS["place"] * np.minimum(1.0, place_cos))
    scores = raw.round()  # what repeat_score() gives
    parent = {str(row["id"]): str(row["repeat_of"]) for row in rows if row.get("repeat_of")}
    roots = [_root(str(row["id"]), parent) for row in rows]
    index = {str(row["id"]): i for i, row in enumerate(rows)}
    topics = [row.get("subcategory") for row in rows]
    first = shown = repeats = flagged = pairs = false_pairs = 0
    for i, row in enumerate(rows):
        same_topic = [j for j in range(len(rows)) if j != i and topics[j] == topics[i]]
        original = index.get(str(row.get("repeat_of") or ""))
        if original is not None and same_topic:
            repeats += 1
            # A tie goes against the original.
            best = max(same_topic, key=lambda j: (raw[i, j], j != original))
            first += best == original
            shown += scores[i, original] >= threshold
        others = [j for j in same_topic if roots[j] != roots[i]]
        flagged += any(scores[i, j] >= threshold for j in others)
        pairs += len(others)
        false_pairs += sum(scores[i, j] >= threshold for j in others)
    return {
        "repeats": repeats, "lines": len(rows),
        "first_rank": first / repeats if repeats else None,
        "shown": float(shown) / repeats if repeats else None,
        "false_alarm": float(flagged) / len(rows) if rows else None,
        "pair_false_alarm": float(false_pairs) / pairs if pairs else None,
    }
